"""Reading a forecast over the time window a scaling decision is about.

An instance asked for now serves from ``now + boot_delay``; the decision is next
revisited one ``interval`` later. So a scale-out must cover the load over
[now + boot_delay, now + boot_delay + interval), while the instances kept on a
scale-in must also carry everything before that: [now, now + boot_delay + interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from autoscaler.model import Forecast, PolicyContext

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class WindowPeak:
    """The largest forecast value over a window; ``note`` says when the forecast was short."""

    value: float
    note: str = ""


def _origin_and_step(forecast: Forecast, ctx: PolicyContext) -> tuple[datetime, timedelta]:
    """Time of ``forecast.mean[0]`` and the forecast's step (from its index when it has one)."""
    step = ctx.load.step
    idx = forecast.index
    if idx is None or len(idx) == 0:
        return ctx.load.end + step, step
    ns = getattr(idx, "asi8", None)  # a DatetimeIndex: integer access is far cheaper
    if ns is None:
        origin = idx[0]
        if len(idx) >= 2:
            step = idx[1] - idx[0]
        return origin, step
    origin = _EPOCH + timedelta(microseconds=int(ns[0]) // 1000)
    if len(ns) >= 2:
        step = timedelta(microseconds=int(ns[1] - ns[0]) // 1000)
    return origin, step


def forecast_peak(
    ctx: PolicyContext, q: float | None, start: timedelta, end: timedelta
) -> WindowPeak | None:
    """Max of the forecast (quantile ``q``, or the mean when None) whose samples overlap
    [now + start, now + end). None when there is no usable forecast (missing, empty,
    or not finite). When the forecast ends before the window, the last forecast value
    stands in for the rest and the note says so.
    """
    fc = ctx.forecast
    if fc is None or len(fc) == 0:
        return None
    values = np.asarray(fc.mean if q is None else fc.quantile(q), dtype=float)
    if len(values) == 0 or not np.isfinite(values).all():
        return None
    origin, step = _origin_and_step(fc, ctx)
    if step <= timedelta(0):
        return None
    # sample k covers [origin + k*step, origin + (k+1)*step)
    lo = math.floor((ctx.now + start - origin) / step)
    hi = math.ceil((ctx.now + end - origin) / step) - 1
    lo, hi = max(lo, 0), max(hi, 0)
    note = ""
    if lo >= len(values):
        note = "forecast ends before the window; using its last value"
        lo = len(values) - 1
    elif hi >= len(values):
        note = "forecast ends inside the window"
    hi = min(max(hi, lo), len(values) - 1)
    return WindowPeak(float(values[lo : hi + 1].max()), note)
