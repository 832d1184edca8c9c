"""The ``theta`` model: the Theta method (Assimakopoulos and Nikolopoulos, M3's winner).

Its forecast is simple exponential smoothing (SES) of the series plus half the drift
of a straight line fitted to it: Hyndman and Billah (2003) showed that the method is
SES with drift ``b / 2``, ``b`` the least-squares slope, so the mean ``k`` steps after
the ``n``-th point is ``level + b / 2 * (k - 1 + 1 / alpha - (1 - alpha) ** n / alpha)``.

* ``alpha``: SES's smoothing weight, chosen at fit among ``ALPHAS`` by the one-step
  squared error over the fitted history (each candidate is one linear filter over it:
  the fit costs a few milliseconds, so ``auto`` can hold it as a member for free).
* ``season`` (``"auto"``, the default; ``None``/``"none"``; or a period in steps or as
  a duration) and ``season_gain`` (default 0.95): the in-sample pick on the 35-series
  bench among none, ``"auto"`` alone and ``"auto"`` with the gain (on the 33 series
  before it, none: docs/forecast-accuracy.md; the test alone passes on NAB CPU series'
  daily profiles that hurt). With ``"auto"`` a
  daily season is modelled when the series has three days and its
  autocorrelation at one day passes the method's 90 % test (statsforecast's
  ``AutoTheta`` does the same). The season is then a classical additive decomposition
  (the mean deviation from a centred moving average at each phase), subtracted before
  smoothing and added back by position. Additive, not the method's multiplicative
  one: load series reach zero. With ``season_gain`` (a ratio; None: off) the season
  must also pass the check the state-space models make (``season.profile_helps``):
  a profile fitted without the last day, subtracted, must bring persistence's error
  on that day over leads 1-3 and 1-12 (15 and 60 minutes at 5-minute steps;
  ``season_check``) to at most ``season_gain`` times plain persistence's.
* Bands: the empirical quantiles of the one-step errors over the fitted history,
  widened by SES's variance growth ``sqrt(1 + (k - 1) * alpha ** 2)`` at lead ``k``.

``update`` moves the level (and the position in the season) only; slope, weight and
season stay as fitted, as in every other model until its next fit.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
from scipy.signal import lfilter

from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.level import season_steps
from autoscaler.forecasters.season import (
    CHECK,
    GAIN,
    SeasonalProfile,
    check_leads,
    named_check,
    profile_helps,
)

# SES's candidate weights: fine near 0 (slow levels), coarse near 1 (persistence).
ALPHAS = tuple(float(a) for a in np.round(np.geomspace(0.01, 1.0, 24), 4))
TCRIT = 1.645  # the one-sided 90 % critical value of the seasonality test


def seasonal_by_test(values: np.ndarray, period: int) -> bool:
    """Whether the autocorrelation at ``period`` passes the Theta method's test:
    ``|r_m| > 1.645 * sqrt((1 + 2 * sum(r_k ** 2, k < m)) / n)``, with three periods
    of history at least."""
    n = len(values)
    if period < 2 or n < 3 * period:
        return False
    c = values - values.mean()
    denom = float(np.dot(c, c))
    if denom <= 0:
        return False
    size = 1 << int(2 * n - 1).bit_length()  # autocovariances by FFT, zero-padded
    f = np.fft.rfft(c, size)
    acf = np.fft.irfft(f * np.conj(f), size)[: period + 1] / denom
    limit = TCRIT * math.sqrt((1 + 2 * float(np.sum(acf[1:period] ** 2))) / n)
    return abs(float(acf[period])) > limit


def additive_profile(values: np.ndarray, period: int) -> np.ndarray:
    """The classical additive seasonal indices of ``values`` by phase (position mod
    ``period``), centred on zero: the mean of ``values`` less its centred moving
    average (2 x ``period`` for an even period) over the points where it is defined."""
    n = len(values)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    if period % 2:
        half = period // 2
        trend = (csum[period:] - csum[:-period]) / period  # centred at i + half
        start = half
    else:
        ma = (csum[period:] - csum[:-period]) / period  # window i..i+period-1
        trend = (ma[:-1] + ma[1:]) / 2  # centred at i + period / 2
        start = period // 2
    detrended = values[start : start + len(trend)] - trend
    phase = np.arange(start, start + len(trend)) % period
    sums = np.bincount(phase, detrended, minlength=period)
    counts = np.bincount(phase, minlength=period)
    profile = sums / np.maximum(counts, 1)
    return profile - profile.mean() if n else profile


class ThetaForecaster(BaseForecaster):
    """SES plus half the fitted drift, optionally deseasonalised; see the module docstring."""

    name = "theta"
    min_history = 4
    season_check = CHECK  # what a model stored before the setting existed refits with

    def __init__(
        self,
        step: timedelta,
        season: int | str | None = "auto",
        season_gain: float | None = GAIN,
        season_check: str = CHECK,
        **params: Any,
    ) -> None:
        super().__init__(
            step, season=season, season_gain=season_gain, season_check=season_check, **params
        )
        self.season_check = named_check(self.name, season_check)
        self.season_setting = season_steps(season, step)
        self.season_gain = None if season_gain is None else float(season_gain)
        self.period = 0  # the modelled season (0: none)
        self.profile = np.zeros(0)
        self.alpha = 1.0
        self.drift = 0.0  # b / 2 per step
        self._level = math.nan
        self._count = 0  # points seen (the (1 - alpha) ** n term)
        self._pos = 0  # absolute position of the next point (the season's phase)
        self._errors = np.zeros(0)  # one-step errors over the fitted history

    def _fit(self, values: np.ndarray) -> None:
        n = len(values)
        period = self.season_setting
        if period == "auto":
            period = self.day if seasonal_by_test(values, self.day) else 0
        period = int(period or 0)
        if period and n >= 2 * period + 1 and self._profile_kept(values, period):
            self.period, self.profile = period, additive_profile(values, period)
            x = values - self.profile[np.arange(n) % period]
        else:
            self.period, self.profile, x = 0, np.zeros(0), values
        t = np.arange(n, dtype=float)
        self.drift = float(np.polyfit(t, x, 1)[0]) / 2 if np.ptp(x) > 0 else 0.0
        best = (math.inf, 1.0, x, np.zeros(0))
        for a in ALPHAS:
            # SES's levels as one linear filter, started at the first point
            levels = lfilter([a], [1.0, a - 1.0], x[1:], zi=[(1.0 - a) * x[0]])[0]
            levels = np.concatenate([[x[0]], levels])
            errors = x[1:] - levels[:-1]
            sse = float(np.dot(errors, errors))
            if sse < best[0]:
                best = (sse, a, levels, errors)
        _, self.alpha, levels, self._errors = best
        self._level = float(levels[-1])
        self._count = n
        self._pos = n

    def _profile_kept(self, values: np.ndarray, period: int) -> bool:
        """Without ``season_gain``, always; with it, whether a profile fitted without the
        last period helps persistence over that period (``profile_helps``)."""
        if self.season_gain is None:
            return True
        n = len(values)
        if n < 3 * period:  # two periods to fit the held-out profile on, one to check
            return False
        held_out = SeasonalProfile(period, additive_profile(values[:-period], period), 1.0)
        return profile_helps(
            values,
            held_out,
            n - period,
            check_leads(period),
            gain=self.season_gain,
            check=self.season_check,
        )

    def _update(self, new: np.ndarray) -> None:
        a, level, pos = self.alpha, self._level, self._pos
        profile, period = self.profile, self.period
        for v in new.tolist():  # Python floats: a tick is one point
            if period:
                v -= float(profile[pos % period])
            level += a * (v - level)
            pos += 1
        self._level, self._pos = level, pos
        self._count += len(new)

    def _mean(self, horizon: int) -> np.ndarray:
        a = self.alpha
        k = np.arange(1, horizon + 1, dtype=float)
        start = 1.0 / a - (1.0 - a) ** self._count / a
        mean = self._level + self.drift * (k - 1 + start)
        if self.period:
            mean += self.profile[np.arange(self._pos, self._pos + horizon) % self.period]
        return mean

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        mean = self._mean(horizon)
        if not quantiles:
            return mean, np.zeros((0, horizon))
        e = self._errors
        offs = np.quantile(e, quantiles) if len(e) else np.zeros(len(quantiles))
        grow = np.sqrt(1.0 + np.arange(horizon) * self.alpha**2)
        return mean, mean + np.outer(offs, grow)
