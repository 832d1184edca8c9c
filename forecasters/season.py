"""Daily (and weekly) seasonal profiles by STL / MSTL, for models that work on the remainder.

A long season (288 five-minute steps a day) inside a state-space model costs minutes
per fit, so the season is estimated once by decomposition, subtracted, and added back
to the forecast by position: the profile of the last cycle repeats.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# Below this strength (Hyndman's F_s: 1 - var(remainder) / var(seasonal + remainder)) the
# profile is mostly noise, and subtracting it hurts more than it helps: on the NAB AWS
# CloudWatch series (strengths around 0.3-0.5) removing it made 15-60 minute forecasts
# worse than persistence, while the NASA trace (about 0.8) gains from it.
MIN_STRENGTH = 0.6


@dataclass(frozen=True)
class SeasonalProfile:
    """``profile[pos % period]`` is the seasonal part at absolute position ``pos``.

    ``period`` 0 means no seasonality was found (or too little history): zero everywhere.
    """

    period: int
    profile: np.ndarray
    strength: float

    def at(self, positions: np.ndarray) -> np.ndarray:
        if self.period == 0:
            return np.zeros(len(positions))
        return self.profile[np.asarray(positions) % self.period]

    def describe(self) -> str:
        if self.period == 0:
            return "no seasonality"
        return f"season {self.period} steps (strength {self.strength:.2f})"


NONE = SeasonalProfile(0, np.zeros(0), 0.0)


def fit_profile(values: np.ndarray, day: int, *, weekly: bool = True) -> SeasonalProfile:
    """Estimate the seasonal profile of ``values`` (positions 0..n-1).

    Daily needs two days of history; weekly (with ``weekly``) two weeks. Returns
    ``NONE`` when there is too little history, the season is weak, or (given three
    days or more) a profile fitted without the last day does not help to forecast
    that day an hour ahead: level shifts can pass for a strong daily pattern.
    """
    profile = decompose(values, day, weekly)
    n = len(values)
    if profile.period and n >= 3 * day:
        held_out = decompose(values[:-day], day, weekly)
        if not profile_helps(
            values, held_out, n - day, leads=(min(3, day // 2), min(12, day // 2))
        ):
            return SeasonalProfile(0, np.zeros(0), profile.strength)
    return profile


def profile_helps(
    values: np.ndarray, profile: SeasonalProfile, start: int, leads: tuple[int, ...]
) -> bool:
    """Whether persistence on the deseasonalised series beats plain persistence after ``start``.

    Averaged over ``leads`` (15 and 60 minutes at 5-minute steps: what the engine asks).
    """
    if profile.period == 0:
        return False
    y = values[start:]
    s = profile.at(np.arange(start, len(values)))
    ratios = []
    for lead in leads:
        plain = np.abs(y[lead:] - y[:-lead]).mean()
        adjusted = np.abs((y[lead:] - s[lead:]) - (y[:-lead] - s[:-lead])).mean()
        ratios.append(adjusted / plain if plain > 0 else 1.0)
    return bool(np.mean(ratios) < 0.95)


def decompose(values: np.ndarray, day: int, weekly: bool) -> SeasonalProfile:
    from statsmodels.tsa.seasonal import MSTL, STL

    n = len(values)
    if day < 2 or n < 2 * day or np.ptp(values) == 0:
        return NONE
    week = 7 * day
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if weekly and n >= 2 * week:
            jumps = {"trend_jump": max(1, day // 10), "low_pass_jump": max(1, day // 10)}
            res = MSTL(values, periods=(day, week), stl_kwargs=jumps).fit()
            seasonal = np.asarray(res.seasonal).sum(axis=1)
            period = week
        else:
            # Interpolating the loess fits between every tenth point is ~30x faster and
            # changes the seasonal component by well under 0.1%.
            res = STL(
                values, period=day, trend_jump=max(1, day // 10), low_pass_jump=max(1, day // 10)
            ).fit()
            seasonal = np.asarray(res.seasonal)
            period = day
    resid = np.asarray(res.resid)
    total = np.var(seasonal + resid)
    strength = 0.0 if total == 0 else max(0.0, 1.0 - float(np.var(resid)) / float(total))
    if strength < MIN_STRENGTH:
        return SeasonalProfile(0, np.zeros(0), strength)
    profile = np.empty(period)
    last = np.arange(n - period, n)
    profile[last % period] = seasonal[last]
    return SeasonalProfile(period, profile, strength)
