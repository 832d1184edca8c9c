"""Exponential smoothing on the deseasonalised series, its form chosen by AICc.

Holt-Winters with a 288-step season estimates hundreds of initial states; a season is
instead removed by STL when the data show one (see ``season``): the usual "STL + ETS"
method. The form (level only or damped trend; additive or multiplicative error) and
its smoothing parameters are chosen and estimated by ``ets_select``, as automatic ETS
does, and then run through the equivalent additive state-space model (statsmodels),
which gives the same point forecasts, Gaussian intervals, and a cheap ``extend`` for
updates without refitting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from autoscaler.forecasters.ets_select import INITIAL, EtsFit, select
from autoscaler.forecasters.statespace import StateSpaceForecaster
from autoscaler.model import ForecastError


class EtsForecaster(StateSpaceForecaster):
    """``trend``: None (default) chooses by AICc between a level only and a damped
    additive trend; True or False forces one. ``errors``: the error forms tried.
    ``initial``: how the initial level and trend are set (``ets_select.INITIAL``)."""

    name = "ets"

    def __init__(
        self,
        step: timedelta,
        trend: bool | None = None,
        errors: tuple[str, ...] | list[str] = ("A", "M"),
        initial: str = "first hour",
        **params: Any,
    ) -> None:
        errors = tuple(str(e).upper() for e in errors)
        super().__init__(step, trend=trend, errors=errors, initial=initial, **params)
        if not errors or any(e not in ("A", "M") for e in errors):
            raise ForecastError(f"ets: errors must be a non-empty subset of A, M, not {errors}")
        if initial not in INITIAL:
            raise ForecastError(
                f"ets: initial must be one of {', '.join(INITIAL)}, not {initial!r}"
            )
        self.initial = initial
        self.trend = None if trend is None else bool(trend)
        self.errors = errors
        self.form: EtsFit | None = None

    def _fit_remainder(self, r: np.ndarray) -> Any:
        from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

        # Multiplicative errors need a positive series; the remainder of a deseasonalised
        # series is shifted by the seasonal profile, so they are tried only without one.
        errors = self.errors if self._season.period == 0 else ("A",)
        best, _ = select(r, self.trend, errors, self.initial)
        self.form = best
        params = [best.alpha]
        if best.damped:
            params += [best.beta, best.phi, best.level0, best.trend0]
        else:
            params += [best.level0]
        model = ExponentialSmoothing(r, trend=best.damped, damped_trend=best.damped)
        return model.filter(np.array(params), cov_type="none")

    def _describe(self) -> str:
        return self.form.describe() if self.form else "ETS"
