"""Shared machinery of the statsmodels state-space forecasters (ARIMA, ETS).

The season is removed first (``season.fit_profile``, on at most ``fit_window`` recent
points, default 7 days); the model's parameters are estimated on the most recent
``arma_window`` points of the remainder (None: all of them), which ends at the same
point, so the Kalman state it leaves is the current one. A short-memory model's few
parameters need hours of data, not a week: at 1-minute steps a week is 10,080 points
and a fit on all of them costs seconds per group. ``update``
runs the Kalman filter over the new points only (``results.extend``), with the
fitted parameters: no refit. Intervals are the model's Gaussian ones plus the
(deterministic) seasonal profile.

After fitting, the statsmodels results are reduced to ``CompactStateSpace`` (the system
matrices and the last Kalman state): the same updates and forecasts, without keeping a
megabyte of filter output per model or rebuilding a model object on every update. That
is what lets one process keep a thousand groups' models.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

import numpy as np

from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.compact_kalman import CompactStateSpace
from autoscaler.forecasters.intervals import normal_bands
from autoscaler.forecasters.season import (
    CHECK,
    GAIN,
    NONE,
    SeasonalProfile,
    fit_profile,
    named_check,
)
from autoscaler.forecasters.series_input import to_steps


class StateSpaceForecaster(BaseForecaster):
    """Subclasses implement ``_fit_remainder(r) -> statsmodels MLEResults``.

    ``seasonal``: whether a season may be modelled (the data decide whether one is);
    ``season_gain``: how much a profile must help on the held-out day to be kept
    (``season.fit_profile``'s ``gain``); ``season_check``: how that day's leads are
    read (``season.CHECKS``)."""

    min_history = 30
    season_check = CHECK  # what a model stored before the setting existed refits with

    def __init__(
        self,
        step: timedelta,
        fit_window: int | str = "7d",
        seasonal: bool = True,
        arma_window: int | str | None = None,
        season_gain: float = GAIN,
        season_check: str = CHECK,
        **params: Any,
    ) -> None:
        super().__init__(
            step,
            fit_window=fit_window,
            seasonal=seasonal,
            arma_window=arma_window,
            season_gain=season_gain,
            season_check=season_check,
            **params,
        )
        self.season_check = named_check(self.name, season_check)
        self.fit_window = to_steps(fit_window, step, name="fit_window")
        self.arma_window = (
            None if arma_window is None else to_steps(arma_window, step, name="arma_window")
        )
        self.seasonal = bool(seasonal)
        self.season_gain = float(season_gain)
        self._season: SeasonalProfile = NONE
        self._kalman: CompactStateSpace | None = None
        self.fitted_params = np.empty(0)  # the estimated parameters, kept for inspection
        self._constant: float | None = None
        self._offset = 0.0
        self._pos = 0  # absolute position of the next observation in the profile's frame
        self.summary = ""

    def _fit(self, values: np.ndarray) -> None:
        values = values[-self.fit_window :]
        self._season = (
            fit_profile(values, self.day, gain=self.season_gain, check=self.season_check)
            if self.seasonal
            else NONE
        )
        r = values - self._season.at(np.arange(len(values)))
        if self.arma_window is not None:
            r = r[-max(self.min_history, self.arma_window) :]
        self._pos = len(values)
        self._kalman = None
        self._constant = None
        self._offset = 0.0
        if np.ptp(r) < 1e-12 * max(1.0, abs(float(r[-1]))):
            self._constant = float(r[-1])
            self.summary = "constant series"
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = self._fit_remainder(r)
            self.fitted_params = np.asarray(results.params, dtype=float)
            self._kalman = CompactStateSpace.from_results(results)
        self.summary = f"{self._describe()}, {self._season.describe()}"

    def _update(self, new: np.ndarray) -> None:
        positions = np.arange(self._pos, self._pos + len(new))
        r = new - self._season.at(positions) - self._offset
        if self._kalman is None:
            # Fitted on a flat series: follow the newest value (persistence).
            self._constant = float(r[-1])
        else:
            self._kalman.update(r)
        self._pos += len(new)

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        seasonal = self._season.at(np.arange(self._pos, self._pos + horizon))
        if self._kalman is None:
            mean = np.full(horizon, self._constant) + seasonal
            return mean, {q: mean.copy() for q in quantiles}
        predicted, var = self._kalman.forecast(horizon)
        mean = predicted + seasonal + self._offset
        sigma = np.sqrt(var)
        return mean, normal_bands(mean, sigma, quantiles)

    def _fit_remainder(self, r: np.ndarray) -> Any:
        raise NotImplementedError

    def _describe(self) -> str:
        return self.name
