"""The serving cluster's metrics as a ``MetricSource``: per bin, the time-averaged number
of requests in a group (queued or executing, what Knative's queue-proxy reports as
concurrency) or its arrival rate. A bin is visible once it is over.

The arrival rate of a bin is, by default, that bin's arrivals over its length; with
``rate_bins`` k > 1 it is the arrivals of the k bins ending with it over their length
(a trailing mean: it never reads a bin before it is over). A 2 s bin holding one request
reads as 0.5 requests a second, which a queueing model on GPU times of tens of seconds
takes for a sustained rate of over ten replicas' worth; a window of the order of the
service time reads it as what it is, one request in that time.

``little_rate`` is the arrival rate by Little's law: the requests in the group (the
concurrency) over the mean service time ``mean_service``. In a steady state it equals
the arrival rate; every request counts for as long as it stays (not for one bin), and a
queue that builds up in a burst raises it."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import MetricWindow, SourceError
from autoscaler.simulator.serving.cluster import ServingCluster

METRICS = ("concurrency", "arrival_rate", "little_rate")


class ServingSource:
    """One group's metric; the query string is ignored (the metric is fixed here)."""

    def __init__(
        self,
        cluster: ServingCluster,
        group: str,
        metric: str = "concurrency",
        rate_bins: int = 1,
        mean_service: float = 1.0,
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown serving metric {metric!r} (known: {', '.join(METRICS)})")
        if rate_bins < 1:
            raise ValueError(f"rate_bins must be at least 1, not {rate_bins}")
        if not mean_service > 0:
            raise ValueError(f"mean_service must be positive, not {mean_service}")
        self.cluster = cluster
        self.group = cluster.index[group]
        self.metric = metric
        self.step = timedelta(seconds=cluster.bin_seconds)
        # the per-bin array is filled in place as the cluster advances: read it directly
        self._raw = (
            trailing_mean(cluster.arrivals[self.group], rate_bins)
            if metric == "arrival_rate"
            else cluster.groups[self.group].concurrency
        )
        # per bin: arrivals or request-seconds; over the bin (a rate or a mean count),
        # and for little_rate over the mean service time too
        self._per = cluster.bin_seconds * (mean_service if metric == "little_rate" else 1.0)
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
        values = self._raw[lo:hi] / self._per
        return MetricWindow(self.cluster.start + (hi - 1) * self.step, self.step, values)

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        hi = self._visible(end)
        lo = max(0, int(self.cluster.seconds(start) // self.cluster.bin_seconds))
        idx = pd.date_range(
            self.cluster.start + lo * self.step, periods=max(0, hi - lo), freq=self.step
        )
        return pd.Series(self._values()[lo:hi] / self._per, index=idx)


def trailing_mean(counts: np.ndarray, k: int) -> np.ndarray:
    """Per bin, the mean of ``counts`` over the ``k`` bins ending with it (bins before
    the first count as empty); ``counts`` itself when k is 1. Sums of whole counts, so exact."""
    if k == 1:
        return counts
    c = np.concatenate(([0.0], np.cumsum(counts)))
    i = np.arange(1, len(counts) + 1)
    return (c[i] - c[np.maximum(i - k, 0)]) / k
