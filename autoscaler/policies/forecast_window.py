"""Reading a forecast over the time window a scaling decision is about.

An instance asked for now serves from ``now + boot_delay``; the decision is next
revisited one cadence later (the ``interval``, or the sample step when samples are
coarser, as the engine then decides once per sample). So a scale-out must cover the
load over [now + boot_delay, now + boot_delay + cadence), while the instances kept on a
scale-in must also carry everything before that: [now, now + boot_delay + cadence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from autoscaler.model import Forecast, PolicyContext

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICKS_PER_US = {"ns": 1000, "us": 1, "ms": 1e-3, "s": 1e-6}


@dataclass(frozen=True, slots=True)
class WindowPeak:
    """The largest forecast value over a window; ``note`` says when the forecast was short."""

    value: float
    note: str = ""


def _origin_and_step(forecast: Forecast, ctx: PolicyContext) -> tuple[datetime, timedelta]:
    """Time of ``forecast.mean[0]`` and the forecast's step (from its index when it has one)."""
    step = ctx.load.step
    # A LazyForecast (forecasters.forecast_times) knows its index's first integers
    # without building the index; for any other forecast they are read from the index.
    head = getattr(forecast, "head_ticks", None)
    grid = head() if head is not None else None
    if grid is None:
        idx = forecast.index
        if idx is None or len(idx) == 0:
            return ctx.load.end + step, step
        ticks = getattr(idx, "asi8", None)  # a DatetimeIndex: integer access is far cheaper
        if ticks is None or getattr(idx, "unit", "ns") not in _TICKS_PER_US:
            origin = idx[0]
            if len(idx) >= 2:
                step = idx[1] - idx[0]
            return origin, step
        grid = ticks[:2].tolist(), getattr(idx, "unit", "ns")
    # The index's resolution is whatever pandas chose (pandas 3 keeps microseconds for
    # indexes built from datetimes); reading its integers as nanoseconds put the origin
    # in 1970 and every window past the forecast's end.
    head_ticks, unit = grid
    per_us = _TICKS_PER_US[unit]
    if len(head_ticks) < 2:
        return _EPOCH + timedelta(microseconds=head_ticks[0] / per_us), step
    first, second = head_ticks
    key = (second - first, per_us)
    step = _steps.get(key) or _steps.setdefault(key, timedelta(microseconds=key[0] / per_us))
    return _EPOCH + timedelta(microseconds=first / per_us), step


# The forecasts' steps by (ticks, ticks per microsecond): one or two in a process.
_steps: dict[tuple[int, float], timedelta] = {}


def cadence(ctx: PolicyContext) -> timedelta:
    """How long until the decision is revisited: the interval, or the sample step when
    samples are coarser (a decision without a new sample changes nothing)."""
    return max(ctx.spec.interval, ctx.load.step)


def forecast_peak(
    ctx: PolicyContext,
    q: float | None,
    start: timedelta,
    end: timedelta,
    *,
    band_scale: float | None = None,
    band_floor: float = 0.0,
) -> WindowPeak | None:
    """Max of the forecast (quantile ``q``, or the mean when None) whose samples overlap
    [now + start, now + end). None when there is no usable forecast (missing, empty,
    or not finite). When the forecast ends before the window, the last forecast value
    stands in for the rest and the note says so.

    With ``band_scale`` (and a ``q``), each sample is ``mean + band_scale * band``
    instead, where the band is ``quantile(q) - mean`` but at least ``band_floor`` times
    the mean: the same quantile with its distance from the mean stretched or shrunk.
    """
    peaks = forecast_peaks(ctx, q, ((start, end),), band_scale=band_scale, band_floor=band_floor)
    return None if peaks is None else peaks[0]


def forecast_peaks(
    ctx: PolicyContext,
    q: float | None,
    windows: tuple[tuple[timedelta, timedelta], ...],
    *,
    band_scale: float | None = None,
    band_floor: float = 0.0,
    band_min: float = 0.0,
) -> tuple[WindowPeak, ...] | None:
    """``forecast_peak`` over several windows of one forecast at once (the forecast is
    read and checked once: a policy asks for two windows at every decision). The band
    is also at least ``band_min`` (in load units), so it has a width at zero load."""
    fc = ctx.forecast
    if fc is None or len(fc) == 0:
        return None
    # A short forecast that keeps its floats (forecasters.forecast_times) hands them
    # over as they are; any other is read from its arrays.
    short = getattr(fc, "short_floats", None)
    floats = short(q) if short is not None else None
    raw = floats[1] if floats is not None else (fc.mean if q is None else fc.quantile(q))
    n = len(raw)
    banded = band_scale is not None and q is not None
    if n <= _SHORT and (not banded or math.isfinite(band_scale * band_floor * band_min)):
        # A short forecast (a few steps): Python floats, the same IEEE operations as
        # numpy's without a ufunc call each. A value that is not finite (or an input
        # that is not) leaves one that is not: max() keeps a NaN in its first argument,
        # where the band's difference stands.
        listed = raw if floats is not None else _floats(raw)
        if banded:
            mean = floats[0] if floats is not None else _floats(fc.mean)
            listed = [
                m + band_scale * max(v - m, max(band_floor * abs(m), band_min))
                for m, v in zip(mean, listed, strict=True)
            ]
        if n == 0 or not math.isfinite(sum(listed)):
            return None
    else:
        values = np.asarray(raw, dtype=float)
        if banded:
            mean = np.asarray(fc.mean, dtype=float)
            floor = np.maximum(band_floor * np.abs(mean), band_min)
            values = mean + band_scale * np.maximum(values - mean, floor)
        if n == 0 or not math.isfinite(float(values.sum())):
            return None
        listed = values.tolist()
    origin, step = _origin_and_step(fc, ctx)
    if step <= timedelta(0):
        return None
    offset = ctx.now - origin
    # Python floats and one loop: the windows are a few samples each, and numpy's max on
    # a slice (plus a generator and a call per window) cost more than the reading itself.
    # The values are all finite (checked above), so the max is numpy's.
    peaks = []
    for a, b in windows:
        lo = max(math.floor((offset + a) / step), 0)
        hi = max(math.ceil((offset + b) / step) - 1, 0)
        note = ""
        if lo >= n:
            note = _ENDS_BEFORE
            lo = n - 1
        elif hi >= n:
            note = _ENDS_INSIDE
        hi = min(max(hi, lo), n - 1)
        peaks.append(WindowPeak(max(listed[lo : hi + 1]), note))
    return tuple(peaks)


def _floats(values: object) -> list[float]:
    return np.asarray(values, dtype=float).tolist()


# Forecasts up to this many steps are read as Python floats (``forecast_peaks``).
_SHORT = 16
_ENDS_BEFORE = "forecast ends before the window; using its last value"
_ENDS_INSIDE = "forecast ends inside the window"
