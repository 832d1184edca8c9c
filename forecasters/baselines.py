"""The yardsticks and fallbacks: persistence, seasonal persistence, short linear trend.

Their intervals come from the empirical distribution of the same method's own past
errors at each lead (computed on the recent history), so they are calibrated on the
series itself and need no distributional assumption.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autoscaler.durations import parse_duration
from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.intervals import empirical_bands
from autoscaler.forecasters.season import strongest_period
from autoscaler.forecasters.series_input import to_steps
from autoscaler.model import ForecastError

# Past errors are taken from at most this many recent origins (one week of 5-minute data).
ERROR_WINDOW = 2016


def _lag_errors(y: np.ndarray, lag: int) -> np.ndarray:
    tail = y[-(ERROR_WINDOW + lag) :]
    return tail[lag:] - tail[:-lag] if len(tail) > lag else np.empty(0)


class NaiveForecaster(BaseForecaster):
    """Persistence: every future step equals the last observation."""

    name = "naive"
    min_history = 2

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        y = self._history
        mean = np.full(horizon, y[-1])
        errors = [_lag_errors(y, h) for h in range(1, horizon + 1)]
        return mean, empirical_bands(mean, errors, quantiles)


def detect_season(y: np.ndarray, day: int) -> int:
    """One day, or one week (7 days) when there are two weeks and the week's
    autocorrelation beats the day's by 0.05 (``season.strongest_period``)."""
    found = strongest_period(y, (day, 7 * day), floor=-1.0, margin=0.05, cycles=2)
    return found if found is not None else day


class SeasonalNaiveForecaster(BaseForecaster):
    """Each future step equals the observation one season earlier.

    ``season``: steps or a duration ("1d"), or "auto" (default): one day, or one week
    when at least two weeks are given and the weekly pattern is clearly stronger.
    """

    name = "seasonal_naive"

    def __init__(self, step: timedelta, season: int | str = "auto", **params: Any) -> None:
        super().__init__(step, season=season, **params)
        self._auto = season == "auto"
        self.season = self.day if self._auto else to_steps(season, step, name="season")
        self.min_history = self.season + 1

    def _fit(self, values: np.ndarray) -> None:
        if self._auto:
            self.season = detect_season(values, self.day)

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        y, s = self._history, self.season
        n = len(y)
        leads = np.arange(1, horizon + 1)
        cycles = -(-leads // s)  # ceil: how many seasons back the source point lies
        src = n - 1 + leads - s * cycles
        if src.min() < 0:
            raise ForecastError(f"{self.name}: history shorter than one season ({s} steps)")
        mean = y[src]
        cache: dict[int, np.ndarray] = {}
        errors = [cache.setdefault(int(k), _lag_errors(y, int(k) * s)) for k in cycles]
        return mean, empirical_bands(mean, errors, quantiles)


LINEAR_LOOKBACK = "4h"  # LinearForecaster's default


class LinearForecaster(BaseForecaster):
    """Least-squares line through the last ``lookback`` points, extrapolated.

    Monasca's predictive-scaling baseline, whose 20 minutes (``lookback="20m"``) extrapolate
    the slope of four 5-minute points over an hour. ``lookback`` defaults to 4 hours
    (at least 3 points), the leave-one-series-out pick of bench/forecast_accuracy.py
    among 20 minutes to 8 hours (docs/forecast-accuracy.md). Refit on every update: it
    is closed-form and cheap.
    """

    name = "linear"

    def __init__(
        self, step: timedelta, lookback: int | str = LINEAR_LOOKBACK, **params: Any
    ) -> None:
        super().__init__(step, lookback=lookback, **params)
        try:
            n = to_steps(lookback, step, name="lookback")
        except ForecastError:
            # A step that does not divide the default: round to whole steps.
            if lookback != LINEAR_LOOKBACK:
                raise
            n = round(parse_duration(LINEAR_LOOKBACK) / step)
        self.lookback = max(3, n)
        self.min_history = self.lookback + 1
        x = np.arange(self.lookback, dtype=float)
        self._x_end = x[-1] - x.mean()
        self._w = (x - x.mean()) / ((x - x.mean()) ** 2).sum()

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _lines(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Level at the window's end and slope, for every window of ``lookback`` points."""
        win = sliding_window_view(y, self.lookback)
        slope = win @ self._w
        return win.mean(axis=1) + slope * self._x_end, slope

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        y = self._history
        level, slope = self._lines(y[-self.lookback :])
        leads = np.arange(1, horizon + 1)
        mean = level[-1] + slope[-1] * leads
        tail = y[-(ERROR_WINDOW + self.lookback + horizon) :]
        lv, sl = self._lines(tail)
        errors = []
        for h in leads:
            # window r ends at tail[r + lookback - 1]; its lead-h target is tail[r + lookback - 1 + h]
            m = len(tail) - self.lookback + 1 - h
            errors.append(
                tail[self.lookback - 1 + h :] - (lv[:m] + sl[:m] * h) if m > 0 else np.empty(0)
            )
        return mean, empirical_bands(mean, errors, quantiles)
