"""The simulator's measured latency: each step's scored p95, served as a metric.

A real service exports a request-duration histogram that Prometheus scrapes; what a
policy reads is the p95 of a step that has ended, some time after it ended. Here the
p95 of a step is what the scoring gives it (the M/M/c p95 of the step's demand on the
instances that were ready), and it becomes visible ``delay`` after the step ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from autoscaler.queueing import response_quantile
from autoscaler.simulator.scoring import ServiceModel, step_latency
from autoscaler.simulator.source import StepSamples

# The p95 of each group size is tabulated on a grid of u = -log(1 - utilisation), fine
# where the latency climbs steeply near saturation; one decision reads one sample, and
# an exact quantile search per sample would cost more than the rest of the step.
_GRID = np.linspace(0.0, 14.0, 1401)


@lru_cache(maxsize=16)
def _p95_table(mu: float, q: float, max_servers: int) -> np.ndarray:
    """p95 (seconds) at ``_GRID`` for 1..max_servers instances (row c - 1)."""
    servers = np.arange(1, max_servers + 1)[:, None]
    rho = 1.0 - np.exp(-_GRID)[None, :]
    lam = np.broadcast_to(rho * servers * mu, (max_servers, len(_GRID)))
    c = np.broadcast_to(servers, lam.shape)
    return response_quantile(c.ravel(), lam.ravel(), mu, q).reshape(lam.shape)


class ScoredLatencySource(StepSamples):
    """Sample ``i`` is the p95 (seconds) of the step [start + i*step, start + (i+1)*step),
    served by ``ready[i]`` instances, visible from its end plus ``delay``.

    ``ready`` is the simulation's own per-step array, filled as the run advances; a
    sample is computed the first time it is visible (by then its ready count is final).
    """

    def __init__(
        self,
        demand: np.ndarray,
        ready: np.ndarray,
        start: datetime,
        step: timedelta,
        model: ServiceModel,
        delay: timedelta,
        max_servers: int,
    ) -> None:
        self.demand = np.asarray(demand, dtype=float)
        self.ready = ready
        self.start = start
        self.step = step
        self.model = model
        self.delay = delay
        self._table = _p95_table(model.mu, model.quantile, max(1, max_servers))
        self.values = np.full(len(self.demand), np.nan)
        self._done = 0

    def p95(self, ready: int, demand: float) -> float:
        """The step's p95 as the scoring gives it (the timeout when overloaded),
        interpolated from the table; exact for sizes beyond it."""
        m = self.model
        if ready > len(self._table):
            return float(step_latency(np.array([ready]), np.array([demand]), m)[0])
        if ready <= 0:
            return m.timeout_seconds if demand > 0 else 0.0
        rho = max(demand, 0.0) / (ready * m.mu)
        if rho >= 1.0:
            return m.timeout_seconds
        u = -np.log1p(-rho)
        if u >= _GRID[-1]:
            return m.timeout_seconds
        return min(float(np.interp(u, _GRID, self._table[ready - 1])), m.timeout_seconds)

    def _visible(self, now: datetime) -> int:
        seen = int((now - self.delay - self.start) / self.step)
        hi = max(0, min(len(self.demand), seen))
        for i in range(self._done, hi):
            self.values[i] = self.p95(int(self.ready[i]), float(self.demand[i]))
        self._done = max(self._done, hi)
        return hi
