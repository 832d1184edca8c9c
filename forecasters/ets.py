"""Exponential smoothing (damped-trend Holt) on the deseasonalised series.

Holt-Winters with a 288-step season estimates hundreds of initial states; the season
is instead removed by STL (see ``season``): the usual "STL + ETS" method. The
smoothing parameters are estimated by statsmodels' Holt-Winters (a fast least-squares
fit) and then run through the equivalent state-space model (statsmodels), which gives
likelihood-based intervals and a cheap ``extend`` for updates without refitting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from autoscaler.forecasters.statespace import StateSpaceForecaster


class EtsForecaster(StateSpaceForecaster):
    """``trend``: add a damped additive trend (default) or a level only."""

    name = "ets"

    def __init__(self, step: timedelta, trend: bool = True, **params: Any) -> None:
        super().__init__(step, trend=trend, **params)
        self.trend = bool(trend)

    def _fit_remainder(self, r: np.ndarray) -> Any:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing as HoltWinters
        from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

        trend = "add" if self.trend else None
        hw = HoltWinters(r, trend=trend, damped_trend=self.trend, initialization_method="estimated")
        p = hw.fit().params
        alpha = float(np.clip(p["smoothing_level"], 1e-4, 1 - 1e-4))
        params = [alpha]
        if self.trend:
            # Holt-Winters' beta* scales the level change; the state-space beta is alpha * beta*.
            beta = float(np.clip(alpha * p["smoothing_trend"], 1e-6, alpha * (1 - 1e-4)))
            phi = float(np.clip(p["damping_trend"], 0.8, 0.995))
            params += [beta, phi, float(p["initial_level"]), float(p["initial_trend"])]
        else:
            params += [float(p["initial_level"])]
        model = ExponentialSmoothing(r, trend=self.trend, damped_trend=self.trend)
        return model.filter(np.array(params), cov_type="none")

    def _describe(self) -> str:
        return "ETS(A,Ad,N)" if self.trend else "ETS(A,N,N)"
