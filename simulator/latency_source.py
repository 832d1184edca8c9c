"""The simulator's measured latency: each step's scored p95, served as a metric.

A real service exports a request-duration histogram that Prometheus scrapes; what a
policy reads is the p95 of a step that has ended, some time after it ended. Here the
p95 of a step is what the scoring gives it (``step_latency`` on the step's demand and
the instances that were ready), and it becomes visible ``delay`` after the step ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import MetricWindow
from autoscaler.simulator.scoring import ServiceModel, step_latency


class ScoredLatencySource:
    """Sample ``i`` is the p95 (seconds) of the step [start + i*step, start + (i+1)*step),
    served by ``ready[i]`` instances, visible from its end plus ``delay``.

    ``ready`` is the simulation's own per-step array, filled as the run advances; a
    sample is computed the first time it is visible (by then its ready count is final).
    The query string is ignored (one group, one latency metric).
    """

    def __init__(
        self,
        demand: np.ndarray,
        ready: np.ndarray,
        start: datetime,
        step: timedelta,
        model: ServiceModel,
        delay: timedelta,
    ) -> None:
        self.demand = np.asarray(demand, dtype=float)
        self.ready = ready
        self.start = start
        self.step = step
        self.model = model
        self.delay = delay
        self._p95 = np.full(len(self.demand), np.nan)
        self._done = 0

    def _visible(self, now: datetime) -> int:
        seen = int((now - self.delay - self.start) / self.step)
        hi = max(0, min(len(self.demand), seen))
        if hi > self._done:
            lo = self._done
            self._p95[lo:hi] = step_latency(self.ready[lo:hi], self.demand[lo:hi], self.model)
            self._done = hi
        return hi

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        hi = self._visible(end)
        lo = max(0, hi - max(1, int(span / self.step)))
        return MetricWindow(self.start + (hi - 1) * self.step, self.step, self._p95[lo:hi])

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        hi = self._visible(end)
        lo = max(0, int((start - self.start) / self.step))
        idx = pd.date_range(self.start + lo * self.step, periods=max(0, hi - lo), freq=self.step)
        return pd.Series(self._p95[lo:hi], index=idx)
