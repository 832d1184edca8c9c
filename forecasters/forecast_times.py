"""A forecast's timestamps: ``future_index`` sliced from cached ranges, and a forecast
whose index is built only when someone reads it.

At every decision the engine's policies read only where a forecast starts and its step
(``forecast_window``); building the ``DatetimeIndex`` and reading its integers back was
most of a forecast's cost beyond the model's arithmetic. ``LazyForecast`` keeps the
cached range and the position instead: ``head_ticks`` answers from the range's
integers, and ``index`` is built on first read, the index ``future_index`` gives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from autoscaler.forecasters.series_input import future_index
from autoscaler.forecasters.short_path import short_arrays
from autoscaler.model import Forecast, pick_quantile

__all__ = ["LazyForecast", "future_forecast", "pd_step", "short_forecast"]


@functools.cache
def pd_step(step: timedelta) -> pd.Timedelta:
    return pd.Timedelta(step)  # built once per step: it is added at every update


# Ranges of this many timestamps, one per (step, unit, time zone, phase): a slice costs a
# fraction of ``pd.date_range`` at every decision. Ranges are immutable; a race at worst
# builds one twice.
_RANGE_LENGTH = 8192


class _Range(NamedTuple):
    first_ns: int
    times: pd.DatetimeIndex
    sliced: Callable[[int, int], pd.DatetimeIndex] | None
    ticks: np.ndarray  # times.asi8: integers at the range's unit
    unit: str

    def index(self, i: int, j: int) -> pd.DatetimeIndex:
        """``times[i:j]``."""
        return self.times[i:j] if self.sliced is None else self.sliced(i, j)


_ranges: dict[tuple[Any, ...], _Range] = {}


def _slicer(times: pd.DatetimeIndex) -> Any:
    """``f(i, j) == times[i:j]`` (values, dtype, freq, name), built from the range's
    datetime64 array without pandas' general ``__getitem__`` (most of a decision's
    index cost); None where this pandas builds it differently (its private
    constructors changed), and then ``times[i:j]`` serves."""
    try:
        data = times._data
        raw, cls, dtype, freq, name = data._ndarray, type(data), data.dtype, times.freq, times.name

        def sliced(i: int, j: int) -> pd.DatetimeIndex:
            index = pd.DatetimeIndex._simple_new(cls._simple_new(raw[i:j], dtype=dtype), name)
            index._freq = freq
            return index

        probe, want = sliced(1, 4), times[1:4]
    except (AttributeError, TypeError, ValueError, AssertionError):
        return None
    same = probe.equals(want) and probe.dtype == want.dtype and probe.freq == want.freq
    return sliced if same and probe.name == want.name else None


def _range_at(last: pd.Timestamp, step: timedelta, horizon: int) -> tuple[_Range, int] | None:
    """A cached range holding ``future_index(last, step, horizon)`` and where it starts
    there; None when no range holds it (too long a horizon, or steps that the
    timestamp's unit cannot represent)."""
    step_ns = pd_step(step).value
    first_ns = last.value + step_ns
    if horizon > _RANGE_LENGTH // 2 or step_ns <= 0:
        return None
    key = (step_ns, last.unit, last.tz, first_ns % step_ns)
    cached = _ranges.get(key)
    if cached is not None:
        i = (first_ns - cached.first_ns) // step_ns
        if 0 <= i <= _RANGE_LENGTH - horizon:
            return cached, i
    times = future_index(last, step, _RANGE_LENGTH)
    if times.unit != last.unit:  # not representable at the timestamp's unit
        return None
    if len(_ranges) >= 64:
        _ranges.clear()
    entry = _Range(first_ns, times, _slicer(times), times.asi8, times.unit)
    _ranges[key] = entry
    return entry, 0


def _future_index(last: pd.Timestamp, step: timedelta, horizon: int) -> pd.DatetimeIndex:
    """``future_index(last, step, horizon)``: the same index."""
    at = _range_at(last, step, horizon)
    if at is None:
        return future_index(last, step, horizon)
    entry, i = at
    return entry.index(i, i + horizon)


class LazyForecast(Forecast):
    """A ``Forecast`` whose ``index`` (``future_index`` of the model's last timestamp)
    is sliced from its cached range when first read; a short one (``short_forecast``)
    also keeps its values as Python floats and builds ``mean`` and ``quantiles`` from
    them when first read (``short_floats`` answers without them). A copy made by
    ``dataclasses.replace`` or a pickle round trip is a forecast with all of them built."""

    __slots__ = ("_floats", "_range", "_span")

    @classmethod
    def of(
        cls,
        entry: _Range,
        span: tuple[int, int],
        mean: np.ndarray | None,
        quantiles: Mapping[float, np.ndarray] | None,
        model: str,
        note: str,
        floats: tuple[list[float], list[list[float]], tuple[float, ...]] | None = None,
    ) -> LazyForecast:
        """``mean`` and ``quantiles`` None: built from ``floats`` (the mean, one row per
        quantile, the quantiles) when first read."""
        self = object.__new__(cls)
        # object.__setattr__, as the frozen dataclass's own __init__ sets its fields
        for name, value in (
            ("mean", mean),
            ("quantiles", quantiles),
            ("model", model),
            ("note", note),
            ("_range", entry),
            ("_span", span),
            ("_floats", floats),
        ):
            if value is not None:
                object.__setattr__(self, name, value)
        return self

    def __getattr__(self, name: str) -> Any:
        # Called only for an unset slot: ``index``, ``mean`` or ``quantiles`` before
        # their first read.
        if name in ("mean", "quantiles"):
            try:
                mean, rows, qs = self._floats
            except AttributeError:
                raise AttributeError(name) from None
            built_mean, built = short_arrays(mean, rows, qs)
            object.__setattr__(self, "mean", built_mean)
            object.__setattr__(self, "quantiles", built)
            return built_mean if name == "mean" else built
        if name != "index":
            raise AttributeError(name)
        try:
            entry, (i, j) = self._range, self._span
        except AttributeError:
            raise AttributeError(name) from None
        index = entry.index(i, j)
        object.__setattr__(self, "index", index)
        return index

    def __len__(self) -> int:
        try:
            return len(self._floats[0])
        except AttributeError:
            return len(self.mean)

    def short_floats(self, q: float | None) -> tuple[list[float], list[float]] | None:
        """The mean and the forecast at ``q`` (``quantile(q)``'s choice; None: the mean)
        as lists of floats, not to be changed; None when this copy keeps no floats."""
        try:
            mean, rows, qs = self._floats
        except AttributeError:
            return None
        if q is None:
            return mean, mean
        return mean, pick_quantile(dict(zip(qs, rows, strict=True)), q, mean)

    def head_ticks(self) -> tuple[list[int], str] | None:
        """The first (up to) two timestamps of ``index`` as integers at its unit, and
        the unit, without building the index; None when this copy has no range."""
        try:
            entry, (i, j) = self._range, self._span
        except AttributeError:
            return None
        return entry.ticks[i : min(i + 2, j)].tolist(), entry.unit


def future_forecast(
    last: pd.Timestamp,
    step: timedelta,
    horizon: int,
    mean: np.ndarray,
    quantiles: Mapping[float, np.ndarray],
    model: str,
    note: str,
) -> Forecast:
    """The forecast of ``horizon`` steps after ``last``: a ``LazyForecast`` where a
    cached range holds its timestamps, else a ``Forecast`` with ``future_index``."""
    at = _range_at(last, step, horizon)
    if at is None:
        index = future_index(last, step, horizon)
        return Forecast(index=index, mean=mean, quantiles=quantiles, model=model, note=note)
    entry, i = at
    return LazyForecast.of(entry, (i, i + horizon), mean, quantiles, model, note)


def short_forecast(
    last: pd.Timestamp,
    step: timedelta,
    values: tuple[list[float], list[list[float]]],
    quantiles: tuple[float, ...],
    model: str,
    note: str,
) -> Forecast:
    """``future_forecast`` of a short forecast's checked floats (``short_path``: the
    mean, one row per quantile): its arrays are built only when read."""
    mean, rows = values
    horizon = len(mean)
    at = _range_at(last, step, horizon)
    if at is None:
        built_mean, built = short_arrays(mean, rows, quantiles)
        return future_forecast(last, step, horizon, built_mean, built, model, note)
    entry, i = at
    floats = (mean, rows, quantiles)
    return LazyForecast.of(entry, (i, i + horizon), None, None, model, note, floats)
