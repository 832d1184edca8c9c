"""Seasons, decided from the data: which period recurs, and its profile.

* ``strongest_period``: the one detector of a recurring period by autocorrelation
  (the level model looks for an hourly or daily recurrence in its errors; seasonal
  naive chooses between a day and a week).
* ``fit_profile``: daily (and weekly) seasonal profiles by STL / MSTL, for models that
  work on the remainder. A long season (288 five-minute steps a day) inside a
  state-space model costs minutes per fit, so the season is estimated once by
  decomposition, subtracted, and added back to the forecast by position: the profile
  of the last cycle repeats.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np

# Below this strength (Hyndman's F_s: 1 - var(remainder) / var(seasonal + remainder)) the
# profile is mostly noise, and subtracting it hurts more than it helps: on the NAB AWS
# CloudWatch series (strengths around 0.3-0.5) removing it made 15-60 minute forecasts
# worse than persistence, while the NASA trace (about 0.8) gains from it.
MIN_STRENGTH = 0.6
# A profile is kept when persistence on the deseasonalised held-out day errs by at most
# this share of plain persistence's error (``profile_helps``).
GAIN = 0.95
# How ``profile_helps`` reads its leads: "span" (the default) sums the errors over every
# lead up to each, as a forecast over 15 or 60 minutes is scored; "ends" (before
# 2026-12-03) compares the errors at those two leads alone. At a lead that is a whole
# number of the load's own period (an hourly pattern, 60 minutes ahead) plain
# persistence is already seasonal naive, and "ends" took that for the profile not
# helping: an auto-scaling group's hourly jobs were modelled without their season.
CHECKS = ("span", "ends")
CHECK = "span"


def named_check(owner: str, check: str) -> str:
    """``check`` when it is one of ``CHECKS``; raises ForecastError naming ``owner``'s
    ``season_check`` otherwise."""
    if check not in CHECKS:
        from autoscaler.model import ForecastError

        raise ForecastError(
            f"{owner}: season_check must be one of {', '.join(CHECKS)}, not {check!r}"
        )
    return check


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


def strongest_period(
    x: np.ndarray,
    periods: tuple[int, ...],
    *,
    floor: float,
    margin: float = 0.0,
    jitter: int = 0,
    cycles: int = 3,
) -> int | None:
    """The period (in steps) among ``periods`` (shortest first) whose autocorrelation
    is highest, or None when none reaches ``floor``.

    The autocorrelation at a period is that of the centred series at the best lag
    within ``jitter`` steps of it (a recurrence that drifts by a step still counts). A
    longer period replaces a shorter one only when it beats it by ``margin``. A period
    needs ``cycles`` of them (plus the jitter) in ``x``.
    """
    if len(x) == 0:
        return None
    c = x - x.mean()
    denom = float(np.dot(c, c))
    if denom <= 0:
        return None
    best, best_acf = None, floor
    for p in periods:
        if p < 2 or cycles * (p + jitter) > len(c):
            continue
        acf = max(
            float(np.dot(c[lag:], c[:-lag])) / denom for lag in range(p - jitter, p + jitter + 1)
        )
        if acf >= (best_acf + margin if best is not None else best_acf):
            best, best_acf = p, acf
    return best


# Seasons are estimated at no finer than this many steps a day (5 minutes): at 1-minute
# steps the series is averaged over blocks of 5 first, and the profile repeated per block.
# STL's cost grows with the period; a daily profile has no detail at one minute that
# matters to a forecast 15-60 minutes ahead.
FINEST_DAY = 288


# The last few profiles fitted, with the values and settings they were fitted on: auto's
# ets and arima members remove the season of the same days one after the other, and
# the two STL decompositions are about a third of each one's fit. A profile is a pure
# function of its arguments, so a repeat gets the same object (nothing mutates one).
_MEMO_SIZE = 4
_memo: list[tuple[tuple[int, bool, float, str], np.ndarray, SeasonalProfile]] = []
_memo_lock = threading.Lock()


def fit_profile(
    values: np.ndarray, day: int, *, weekly: bool = True, gain: float = GAIN, check: str = CHECK
) -> SeasonalProfile:
    """``estimate_profile(values, day, weekly=weekly, gain=gain, check=check)``,
    remembered for the last ``_MEMO_SIZE`` distinct calls (the values compared element
    by element)."""
    values = np.asarray(values, dtype=float)
    key = (int(day), bool(weekly), float(gain), str(check))
    with _memo_lock:
        for k, seen, profile in _memo:
            if k == key and np.array_equal(seen, values):
                return profile
    profile = estimate_profile(values, day, weekly=weekly, gain=gain, check=check)
    with _memo_lock:
        _memo.insert(0, (key, values.copy(), profile))
        del _memo[_MEMO_SIZE:]
    return profile


def estimate_profile(
    values: np.ndarray, day: int, *, weekly: bool = True, gain: float = GAIN, check: str = CHECK
) -> SeasonalProfile:
    """Estimate the seasonal profile of ``values`` (positions 0..n-1).

    Finer than ``FINEST_DAY`` steps a day, the profile is estimated on block means
    (blocks aligned to the series' end) and each value repeated over its block.

    Daily needs three days of history; weekly (with ``weekly``) two weeks. Returns
    ``NONE`` when there is too little history, the season is weak, or a profile fitted
    without the last day does not help to forecast that day an hour ahead: level
    shifts, and the slow swings of an autocorrelated series over two or three cycles,
    can pass for a strong daily pattern (STL's strength of AR(1) noise with
    coefficient 0.9 over four days is about 0.75). With under three days that check
    cannot be made, and no season is modelled: it is decided from the data, never
    assumed. ``gain``: the error ratio the profile must reach there, ``check``: how its
    leads are read (both ``profile_helps``'s).
    """
    n = len(values)
    if n < 3 * day:
        return NONE
    block = day // FINEST_DAY
    if block > 1 and day % block == 0:
        return _expanded(
            estimate_profile(
                _block_means(values, block), day // block, weekly=weekly, gain=gain, check=check
            ),
            block,
            n,
        )
    profile = decompose(values, day, weekly)
    if profile.period:
        held_out = decompose(values[:-day], day, weekly)
        leads = check_leads(day)
        if not profile_helps(values, held_out, n - day, leads=leads, gain=gain, check=check):
            return SeasonalProfile(0, np.zeros(0), profile.strength)
    return profile


def _block_means(values: np.ndarray, block: int) -> np.ndarray:
    """Means of consecutive blocks of ``block`` values, ending at the last value (a
    partial block at the start is dropped)."""
    head = len(values) % block
    return values[head:].reshape(-1, block).mean(axis=1)


def _expanded(coarse: SeasonalProfile, block: int, n: int) -> SeasonalProfile:
    """``coarse`` (fitted on block means of ``n`` values) at the original positions."""
    if coarse.period == 0:
        return coarse
    period = coarse.period * block
    # block j of the means starts at position head + j * block of the original series
    profile = np.roll(np.repeat(coarse.profile, block), n % block)
    return SeasonalProfile(period, profile, coarse.strength)


def profile_helps(
    values: np.ndarray,
    profile: SeasonalProfile,
    start: int,
    leads: tuple[int, ...],
    gain: float = GAIN,
    check: str = CHECK,
) -> bool:
    """Whether persistence on the deseasonalised series beats plain persistence after
    ``start``: its mean absolute error at most ``gain`` times plain persistence's.

    Averaged over ``leads`` (15 and 60 minutes at 5-minute steps: what the engine asks);
    ``check`` "span": each lead's figure is the errors summed over leads 1 to it
    (``CHECKS``). Raises ValueError for another ``check``.
    """
    if check not in CHECKS:
        raise ValueError(f"check must be one of {', '.join(CHECKS)}, not {check!r}")
    if profile.period == 0:
        return False
    y = values[start:]
    r = y - profile.at(np.arange(start, len(values)))
    # each lead's mean absolute error once, plain and deseasonalised (leads 1..max)
    plain = [0.0] + [float(np.abs(y[k:] - y[:-k]).mean()) for k in range(1, max(leads) + 1)]
    adjusted = [0.0] + [float(np.abs(r[k:] - r[:-k]).mean()) for k in range(1, max(leads) + 1)]
    ratios = []
    for lead in leads:
        span = range(1, lead + 1) if check == "span" else (lead,)
        p, a = sum(plain[k] for k in span), sum(adjusted[k] for k in span)
        ratios.append(a / p if p > 0 else 1.0)
    return bool(np.mean(ratios) < gain)


def check_leads(period: int) -> tuple[int, int]:
    """The leads ``profile_helps`` reads on a held-out period: 15 and 60 minutes at
    5-minute steps, at most half the period."""
    return (min(3, period // 2), min(12, period // 2))


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
