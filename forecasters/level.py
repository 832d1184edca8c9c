"""The ``level`` model: smoothed persistence with empirical, noise-following bands.

The daemon's default: cheap enough to forecast every step of a long simulation, and
robust on load that a fitted model would chase.
"""

from __future__ import annotations

import bisect
import functools
import math
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.durations import format_duration, parse_duration
from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.season import strongest_period
from autoscaler.forecasters.short_path import np_fmax, np_maximum

BANDS = ("absolute", "relative", "local")


def season_steps(raw: Any, step: timedelta) -> int | str | None:
    """``season`` as the model takes it: ``None`` for ``none``/None, ``"auto"``, or a
    period in whole steps (2 or more) from an int or a duration. Raises ``ValueError``."""
    if raw is None or raw == "none":
        return None
    if raw == "auto":
        return "auto"
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 2:
            raise ValueError(f"season must be auto or a period of at least 2 steps, not {raw!r}")
        return raw
    try:
        period = parse_duration(raw) if isinstance(raw, str) else timedelta(seconds=float(raw))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"season: {exc}") from None
    season = round(period / step)
    if season < 2 or abs(period - season * step) > step / 100:
        raise ValueError(
            f"season {raw!r} must be a whole number (2 or more) of {format_duration(step)} steps"
        )
    return season


def sorted_quantiles(s: np.ndarray, quantiles: tuple[float, ...]) -> list[float]:
    """``np.quantile(s, quantiles)`` (its linear method) of ``s`` sorted in ascending
    order, computed as numpy 2 does it (``_quantile``, ``_lerp``) on Python floats (the
    same IEEE operations), without numpy partitioning an array already in order and its
    overhead per call, which cost more than the sort at every refit."""
    n = len(s)
    last = float(s[-1])
    if math.isnan(last):  # a NaN sorts last, and numpy then answers NaN
        return [last] * len(quantiles)
    out = []
    for q in quantiles:
        virtual = (n - 1) * q
        if virtual >= n - 1:
            i = j = -1  # numpy's indexes above its bounds: the largest value
        elif virtual < 0:
            i = j = 0
        else:
            i = math.floor(virtual)
            j = i + 1
        a, b = float(s[i]), float(s[j])
        gamma = virtual - i
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return out


@functools.lru_cache(maxsize=8)
def _decay_weights(beta: float, n: int) -> tuple[np.ndarray, float]:
    """The noise's weights ``(1 - beta) ** (n - 1 - i)`` and their sum, read-only: every
    refit on a full training window asks for the same ones (a week-long power)."""
    weights = (1.0 - beta) ** np.arange(n)[::-1]
    weights.flags.writeable = False
    return weights, np.sum(weights)


class LevelForecaster(BaseForecaster):
    """A level forecast with empirical bands.

    The anchor is an exponentially weighted level of the observations (``alpha`` = 1:
    the last value; smaller: a smoother level, less thrown by one noisy sample). The
    mean is the level. The band for ``k`` steps ahead is the quantile of
    ``y[t+k] - level[t]`` over the fitted history, then, by ``bands``:

    * ``absolute``: used as it is;
    * ``relative``: taken of that difference over ``level[t]``, then scaled by the
      current level (widens exactly at the peaks);
    * ``local``: rescaled by the recent noise, i.e. the mean absolute size of the last
      ``noise_memory`` or so one-step errors (exponentially weighted, kept up to date by
      ``update``) over that of the whole history. Absolute rather than squared errors,
      so that one spike does not widen the band for hours. Load is noisier by day than
      by night; a band fitted on the whole day is too narrow at noon and too wide at 3 am.

    ``season`` (``None``/``"none"``, a period in steps or as a duration, or ``"auto"``):
    a recurring pattern such as an hourly batch job. The upper quantiles (above 0.5) are
    then at least the largest load seen one period earlier within one step of the same
    phase, so a spike that came an hour ago is provisioned for before it comes again.
    ``"auto"`` looks, at each fit, for an hourly or daily period in the autocorrelation
    of the one-step errors (at least three periods of history and a correlation of
    ``season_min_acf``).

    ``width`` stretches every band offset (not the recurrence) by that factor: the
    empirical quantiles of a fitted history, rescaled by a noise level that itself
    fluctuates, are narrower than the outcomes they are meant to hold. 1.1 was chosen
    leave-one-series-out among 1, 1.1, 1.2 and 1.3 on the 33 series of
    bench/forecast_accuracy.py, as the width whose mean 90 % coverage over the other
    series came nearest 0.90 (docs/forecast-accuracy.md).

    Forecasts are clipped at zero. ``update`` only moves the level, the noise and the
    recent tail.
    """

    name = "level"
    min_history = 2
    width = 1.0  # a model stored before ``width`` existed predicts as it did

    def __init__(
        self,
        step: timedelta,
        alpha: float = 0.2,
        bands: str = "local",
        *,
        season: int | str | None = "auto",
        noise_memory: int = 30,
        season_min_acf: float = 0.3,
        width: float = 1.1,
        **params: Any,
    ) -> None:
        alpha = float(alpha)
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], not {alpha}")
        if bands not in BANDS:
            raise ValueError(f"bands must be one of {', '.join(BANDS)}, not {bands!r}")
        noise_memory = int(noise_memory)
        if noise_memory < 2:
            raise ValueError(f"noise_memory must be at least 2, not {noise_memory}")
        width = float(width)
        if not 0 < width <= 10:
            raise ValueError(f"width must be in (0, 10], not {width}")
        super().__init__(
            step,
            alpha=alpha,
            bands=bands,
            season=season,
            noise_memory=noise_memory,
            season_min_acf=season_min_acf,
            width=width,
            **params,
        )
        self.alpha = alpha
        self.width = width
        self.bands = bands
        self.season_setting = season_steps(season, step)
        self.season: int | None = (
            self.season_setting if isinstance(self.season_setting, int) else None
        )
        self.beta = 1.0 / noise_memory
        self.season_min_acf = float(season_min_acf)
        self._values = np.empty(0)  # the whole fitted history (the bands use all of it)
        self._levels = np.empty(0)
        self._floor = 1e-9
        self._level = math.nan
        self._noise = 0.0  # recent mean absolute one-step error
        self._noise_all = 0.0  # the same over the whole fitted history
        self._tail = np.empty(0)  # the last season + 2 observations
        self._band_cache: dict[tuple[int, tuple[float, ...]], np.ndarray] = {}

    def _fit(self, values: np.ndarray) -> None:
        self._values = values.copy()
        self._levels = pd.Series(values).ewm(alpha=self.alpha, adjust=False).mean().to_numpy()
        self._floor = max(0.1 * float(np.mean(np.abs(values))), 1e-9)
        self._band_cache.clear()
        self._level = float(self._levels[-1])
        errors = values[1:] - self._levels[:-1]
        self._noise_all = float(np.mean(np.abs(errors))) if len(errors) else 0.0
        weights, total = _decay_weights(self.beta, len(errors))
        self._noise = float(np.sum(weights * np.abs(errors)) / total) if len(errors) else 0.0
        if self.season_setting == "auto":
            self.season = self._detect_season(errors)
        keep = (self.season or 0) + 2
        self._tail = values[-keep:].copy() if self.season else np.empty(0)

    def _detect_season(self, errors: np.ndarray) -> int | None:
        periods = tuple(round(p / self.step) for p in (timedelta(hours=1), timedelta(days=1)))
        return strongest_period(errors, periods, floor=self.season_min_acf, jitter=1)

    def _update(self, new: np.ndarray) -> None:
        for v in new.tolist():  # Python floats: the same IEEE operations, no numpy scalars
            e = v - self._level
            self._noise += self.beta * (abs(e) - self._noise)
            self._level += self.alpha * e
        if self.season and len(new):
            self._tail = self._extended("_tail", new, self.season + 2)

    def _history_bands(self, horizon: int, quantiles: tuple[float, ...]) -> np.ndarray:
        key = (horizon, quantiles)
        cached = self._band_cache.get(key)
        if cached is not None:
            return cached
        h, lv = self._values, self._levels
        out = np.zeros((len(quantiles), horizon))
        p = self.season
        # With a season, the error is measured against the larger of the level and the
        # recurrence (what the upper quantiles already carry), so that spikes the
        # recurrence foresees do not also widen the band at every other phase.
        m3 = np.maximum(np.maximum(h, np.roll(h, 1)), np.roll(h, -1)) if p else h
        # One buffer for every step's errors, sorted in place, then the quantiles: the
        # same values as on the unsorted errors (they depend only on the order
        # statistics), but numpy's vectorised sort beats its partition's branchy
        # selection on a week of fresh samples about fivefold, and no week-long array
        # is allocated twice per step.
        buf = np.empty(len(h))
        for k in range(1, horizon + 1):
            kk = min(k, len(h) - 1)
            ref = lv[:-kk]
            if p and kk < p and len(h) > p + 1:
                ref = ref.copy()
                j = np.arange(kk, len(h))  # the sample each error is about
                ok = j - p - 1 >= 0
                ref[ok] = np.maximum(ref[ok], m3[j[ok] - p])
            rel = np.subtract(h[kk:], ref, out=buf[: len(h) - kk])
            if self.bands == "relative":
                np.divide(rel, np.maximum(lv[:-kk], self._floor), out=rel)
            rel.sort()
            out[:, k - 1] = sorted_quantiles(rel, quantiles)
        self._band_cache[key] = out
        return out

    def _recurrence(self, horizon: int) -> np.ndarray | None:
        """The largest load one season before each forecast step, within one step of its
        phase (NaN where that lies beyond what has been seen)."""
        p = self.season
        if not p or len(self._tail) < p + 2:
            return None
        out = np.empty(horizon)
        out.fill(np.nan)  # np.full without its Python wrapper (a forecast per decision)
        last = len(self._tail) - 1  # index of the newest observation
        tail = self._tail
        for k in range(1, min(horizon, p) + 1):
            centre = last + k - p
            lo, hi = max(centre - 1, 0), min(centre + 1, last)
            if lo <= hi:  # the ufunc's reduction: what ndarray.max calls, without its wrapper
                out[k - 1] = np.maximum.reduce(tail[lo : hi + 1])
        return out

    def _scale(self) -> float:
        """What the bands' offsets are multiplied by (see ``bands`` and ``width``)."""
        if self.bands == "relative":
            scale = max(self._level, self._floor)
        elif self.bands == "local" and self._noise_all > 0:
            scale = self._noise / self._noise_all
        else:
            scale = 1.0
        return scale * self.width

    def _predict_floats(
        self, horizon: int, quantiles: tuple[float, ...]
    ) -> tuple[list[float], list[list[float]]]:
        """``_predict`` on Python floats, the same IEEE operations in the same order
        (a decision's forecast is a few steps; numpy's cost per call was most of it)."""
        level, scale = self._level, self._scale()
        rows = [
            [np_maximum(level + scale * b, 0.0) for b in row]
            for row in self._history_bands(horizon, quantiles).tolist()
        ]
        p = self.season
        if quantiles[-1] > 0.5 and p and len(self._tail) >= p + 2:
            # the recurrence (``_recurrence``): the largest load one season before each
            # step within one step of its phase, raising the rows above the median
            last = len(self._tail) - 1
            first = max(last - p, 0)  # the lowest index any step reads
            seen = self._tail[first : last + 1].tolist()
            recur = []
            for k in range(1, min(horizon, p) + 1):
                centre = last + k - p
                lo, hi = max(centre - 1, 0), min(centre + 1, last)
                peak = math.nan
                if lo <= hi:
                    peak = seen[lo - first]
                    for v in seen[lo - first + 1 : hi - first + 1]:
                        peak = np_maximum(peak, v)
                recur.append(peak)
            for row in rows[bisect.bisect_right(quantiles, 0.5) :]:
                for k, r in enumerate(recur):
                    row[k] = np_fmax(row[k], r)
        return [level] * horizon, rows

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        qs = quantiles
        mean = np.empty(horizon)
        mean.fill(self._level)  # np.full without its Python wrapper
        bands = self._history_bands(horizon, qs) if qs else np.zeros((0, horizon))
        scale = self._scale()
        recur = self._recurrence(horizon) if qs and qs[-1] > 0.5 else None
        # all quantiles at once, one row each (the base class takes the rows as they are)
        values = self._level + scale * bands
        np.maximum(values, 0.0, out=values)
        if recur is not None:
            # the quantiles are sorted (the base class checks them): those above 0.5
            # are the last rows, a view to raise in place
            upper = values[bisect.bisect_right(qs, 0.5) :]
            np.fmax(upper, recur, out=upper)
        return mean, values
