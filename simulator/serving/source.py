"""The serving cluster's metrics as a ``MetricSource``: per bin, the time-averaged number
of requests in a group (queued or executing, what Knative's queue-proxy reports as
concurrency) or its arrival rate. A bin is visible once it is over."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import MetricWindow, SourceError
from autoscaler.simulator.serving.cluster import ServingCluster

METRICS = ("concurrency", "arrival_rate")


class ServingSource:
    """One group's metric; the query string is ignored (the metric is fixed here)."""

    def __init__(self, cluster: ServingCluster, group: str, metric: str = "concurrency") -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown serving metric {metric!r} (known: {', '.join(METRICS)})")
        self.cluster = cluster
        self.group = cluster.index[group]
        self.metric = metric
        self.step = timedelta(seconds=cluster.bin_seconds)
        # the per-bin array is filled in place as the cluster advances: read it directly
        self._raw = (
            cluster.groups[self.group].concurrency
            if metric == "concurrency"
            else cluster.arrivals[self.group]
        )
        self._spans: dict[timedelta, int] = {}  # span -> bins, for the engine's one lookback

    def _values(self) -> np.ndarray:
        return self._raw

    def _visible(self, end: datetime) -> int:
        c = self.cluster
        return max(0, min(len(self._raw), int(c.seconds(end) // c.bin_seconds)))

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        if step != self.step:
            raise SourceError(f"the serving metrics come in {self.step} bins, not {step}")
        hi = self._visible(end)
        n = self._spans.get(span)
        if n is None:
            n = self._spans[span] = max(1, int(span / self.step))
        lo = max(0, hi - n)
        values = self._raw[lo:hi] / self.cluster.bin_seconds
        return MetricWindow(self.cluster.start + (hi - 1) * self.step, self.step, values)

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        hi = self._visible(end)
        lo = max(0, int(self.cluster.seconds(start) // self.cluster.bin_seconds))
        idx = pd.date_range(
            self.cluster.start + lo * self.step, periods=max(0, hi - lo), freq=self.step
        )
        return pd.Series(self._values()[lo:hi] / self.cluster.bin_seconds, index=idx)
