"""Checking and cleaning the series a forecaster is given.

A forecaster accepts a ``pd.Series`` on a regular UTC ``DatetimeIndex`` at its step.
Gaps (NaN) are handled explicitly here, once, for every model: interior gaps are
filled by linear interpolation, trailing ones by holding the last value, leading
ones are dropped. How many points were filled is reported so that the forecast's
note can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.model import ForecastError


@dataclass(frozen=True)
class CleanSeries:
    """Finite values on a regular grid: ``values[i]`` is at ``start + i * step``."""

    values: np.ndarray
    start: pd.Timestamp
    step: timedelta
    filled: int

    @property
    def last(self) -> pd.Timestamp:
        return self.start + (len(self.values) - 1) * self.step


def clean_series(y: pd.Series, step: timedelta, *, what: str = "series") -> CleanSeries:
    """Validate ``y`` (regular UTC index at ``step``) and fill its gaps.

    Raises ``ForecastError`` on an empty or all-NaN series, a non-datetime or
    irregular index, or infinite values.
    """
    if not isinstance(y, pd.Series):
        raise ForecastError(f"{what} must be a pandas Series, not {type(y).__name__}")
    if not isinstance(y.index, pd.DatetimeIndex):
        raise ForecastError(f"{what} needs a DatetimeIndex, not {type(y.index).__name__}")
    if len(y) == 0:
        raise ForecastError(f"{what} is empty")
    index = y.index.tz_localize("UTC") if y.index.tz is None else y.index.tz_convert("UTC")
    step_ns = int(pd.Timedelta(step).value)
    if len(index) > 1:
        diffs = np.diff(index.as_unit("ns").asi8)
        bad = np.flatnonzero(diffs != step_ns)
        if bad.size:
            i = int(bad[0])
            raise ForecastError(
                f"{what} is not regular at step {pd.Timedelta(step)}: "
                f"{index[i]} is followed by {index[i + 1]}"
            )
    values = y.to_numpy(dtype=float, copy=True)
    if np.isinf(values).any():
        raise ForecastError(f"{what} contains infinite values")
    finite = np.isfinite(values)
    if not finite.any():
        raise ForecastError(f"{what} has no finite values")
    first = int(np.argmax(finite))
    values, index, finite = values[first:], index[first:], finite[first:]
    filled = int((~finite).sum())
    if filled:
        pos = np.arange(len(values))
        # np.interp holds the edge value beyond the last finite point: trailing gaps are held.
        values = np.interp(pos, pos[finite], values[finite])
    return CleanSeries(values, pd.Timestamp(index[0]), step, filled)


def future_index(last: pd.Timestamp, step: timedelta, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``last`` at ``step``."""
    return pd.date_range(last + pd.Timedelta(step), periods=horizon, freq=pd.Timedelta(step))


def steps_per_day(step: timedelta) -> int:
    """How many steps make one day (at least 1)."""
    return max(1, round(timedelta(days=1) / step))


def to_steps(value: int | str | timedelta, step: timedelta, *, name: str) -> int:
    """A length given as steps (int or digits) or as a duration ("20m") in whole steps.

    Raises ``ForecastError`` when it is not positive or not a multiple of ``step``.
    """
    from autoscaler.durations import parse_duration

    if isinstance(value, bool):
        raise ForecastError(f"{name}: expected steps or a duration, not {value!r}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        try:
            d = parse_duration(value)
        except ValueError as exc:
            raise ForecastError(f"{name}: {exc}") from None
        n, rest = divmod(d, step)
        if rest:
            raise ForecastError(
                f"{name}: {value} is not a whole number of {pd.Timedelta(step)} steps"
            )
    if n < 1:
        raise ForecastError(f"{name} must be at least one step, not {value!r}")
    return int(n)


def on_grid(index: pd.Index, end: datetime, step: timedelta) -> bool:
    """Whether ``index`` is a regular grid at ``step`` (pandas keeps a ``freq`` only for
    one) whose last point is ``end``."""
    freq = getattr(index, "freq", None)
    if freq is None or getattr(index, "tz", None) is None:
        return False
    try:
        return bool(freq == pd.Timedelta(step) and index[-1] == end)
    except (TypeError, ValueError):
        return False
