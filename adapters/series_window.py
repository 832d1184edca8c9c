"""One conversion shared by every metric source: raw samples to a regular series or window.

Sources hand over what the backend returned (timestamps in seconds since the epoch and
float values); these functions put them on the grid ``start, start + step, ... <= end``
so that the engine always sees the same shape whatever the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import MetricWindow, ensure_utc


def grid(start: datetime, end: datetime, step: timedelta) -> pd.DatetimeIndex:
    """The UTC timestamps ``start + k * step`` that are ``<= end`` (empty when end < start)."""
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")
    return pd.date_range(ensure_utc(start), ensure_utc(end), freq=step, name="timestamp")


def regular_series(
    timestamps: Sequence[float],
    values: Sequence[float],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> pd.Series:
    """Samples (epoch seconds, values) placed on ``grid(start, end, step)``; NaN where absent.

    A sample counts for a grid point when it lies within half a step of it (backends
    such as Monasca report period starts that need not be aligned with ``start``).
    """
    index = grid(start, end, step)
    out = np.full(len(index), np.nan)
    if len(timestamps) and len(index):
        ts = np.asarray(timestamps, dtype=float)
        vals = np.asarray(values, dtype=float)
        origin = index[0].timestamp()
        step_s = step.total_seconds()
        pos = np.rint((ts - origin) / step_s).astype(np.int64)
        near = np.abs(ts - (origin + pos * step_s)) < step_s / 2
        keep = near & (pos >= 0) & (pos < len(index))
        out[pos[keep]] = vals[keep]
    return pd.Series(out, index=index, name="value")


def window_grid_start(end: datetime, span: timedelta, step: timedelta) -> datetime:
    """The first grid point of a window of ``span`` ending at ``end``: ``span // step`` points."""
    points = max(1, span // step)
    return ensure_utc(end) - (points - 1) * step


def series_to_window(
    series: pd.Series, end: datetime, span: timedelta, step: timedelta
) -> MetricWindow:
    """The ``MetricWindow`` of ``span // step`` points (at least one) ending at ``end``.

    Points of ``series`` that are off the window's grid are ignored; grid points the
    series lacks are NaN.
    """
    end = ensure_utc(end)
    index = grid(window_grid_start(end, span, step), end, step)
    values = (
        series.reindex(index).to_numpy(dtype=float) if len(series) else np.full(len(index), np.nan)
    )
    return MetricWindow(end=end, step=step, values=values)
