"""Small builders for policy contexts and forecasts shared by the predictive tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import Forecast, GroupSpec, GroupStatus, MetricWindow, PolicyContext

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)
SPEC = GroupSpec(
    name="g",
    min_size=1,
    max_size=50,
    capacity_per_instance=100.0,
    boot_delay=timedelta(minutes=2),
    slo_p95_seconds=0.2,
)


def forecast(
    values: list[float] | np.ndarray, upper: float = 1.0, start: datetime = NOW
) -> Forecast:
    """A forecast whose first point is at ``start`` (the engine's: one step after the last
    sample); quantile 0.9 is ``upper`` times the mean."""
    mean = np.asarray(values, dtype=float)
    index = pd.date_range(start, periods=len(mean), freq=STEP)
    return Forecast(index, mean, {0.5: mean, 0.9: mean * upper}, model="test")


def ctx(
    loads: list[float],
    ready: int,
    booting: int = 0,
    fc: Forecast | None = None,
    spec: GroupSpec = SPEC,
    memory: object = None,
    now: datetime = NOW,
) -> PolicyContext:
    window = MetricWindow(now - STEP, STEP, np.asarray(loads, dtype=float))
    return PolicyContext(now, spec, GroupStatus(ready, booting), window, fc, memory)
