"""A metric source that replays a trace, sample by sample, as the simulation advances."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import MetricWindow


class StepSamples:
    """A metric of one sample per step: ``values[i]`` covers [start + i*step, start +
    (i+1)*step), and ``_visible(end)`` (a subclass's) returns how many samples are
    readable at ``end``, filling them first where they are computed as the run goes.
    ``window`` and ``query`` serve them; the query string is ignored (one metric)."""

    values: np.ndarray
    start: datetime
    step: timedelta

    def _visible(self, end: datetime) -> int:
        raise NotImplementedError

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        hi = self._visible(end)
        lo = max(0, hi - max(1, int(span / self.step)))
        return MetricWindow(self.start + (hi - 1) * self.step, self.step, self.values[lo:hi])

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        hi = self._visible(end)
        lo = max(0, int((start - self.start) / self.step))
        idx = pd.date_range(self.start + lo * self.step, periods=max(0, hi - lo), freq=self.step)
        return pd.Series(self.values[lo:hi], index=idx)


class TraceSource(StepSamples):
    """Sample ``i`` covers [start + i*step, start + (i+1)*step) and is observable once
    that interval is over: at time ``now`` the newest visible sample is the last one
    that ended at or before ``now``. The query string is ignored (one trace, one metric).
    """

    def __init__(self, values: np.ndarray, start: datetime, step: timedelta) -> None:
        self.values = np.asarray(values, dtype=float)
        self.start = start
        self.step = step

    def _visible(self, now: datetime) -> int:
        """Number of samples completed by ``now``."""
        return max(0, min(len(self.values), int((now - self.start) / self.step)))
