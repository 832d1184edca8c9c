"""ARIMA's parameters come from the recent ``arma_window`` points of the remainder."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.arima import ArimaForecaster
from autoscaler.model import ForecastError

STEP = timedelta(minutes=1)


def _regime_change(n_old: int, n_new: int) -> pd.Series:
    """AR(1) with coefficient 0.9, then the last ``n_new`` points with -0.6."""
    rng = np.random.default_rng(3)
    x = np.zeros(n_old + n_new)
    for t in range(1, len(x)):
        phi = 0.9 if t < n_old else -0.6
        x[t] = phi * x[t - 1] + rng.normal()
    index = pd.date_range("2026-01-05", periods=len(x), freq=STEP, tz="UTC")
    return pd.Series(50 + x, index=index)


def test_the_parameters_come_from_the_recent_window_only():
    y = _regime_change(4000, 800)
    recent = ArimaForecaster(STEP, orders=((1, 0),), d=0, seasonal=False, arma_window=800)
    whole = ArimaForecaster(STEP, orders=((1, 0),), d=0, seasonal=False, arma_window=None)
    recent.fit(y)
    whole.fit(y)
    assert recent.fitted_params[0] == pytest.approx(-0.6, abs=0.1)
    assert whole.fitted_params[0] > 0.3  # the old regime dominates the whole window


def test_the_forecast_continues_from_the_last_point():
    y = _regime_change(4000, 800)
    model = ArimaForecaster(STEP, orders=((1, 0),), d=0, seasonal=False, arma_window=800)
    model.fit(y)
    phi, mean = model.fitted_params[0], model._offset
    expected = mean + phi * (y.iloc[-1] - mean)
    assert model.predict(1).mean[0] == pytest.approx(expected, rel=1e-3)
    assert model.predict(1).index[0] == y.index[-1] + STEP


def test_a_bad_window_is_refused():
    with pytest.raises(ForecastError, match="arma_window"):
        ArimaForecaster(STEP, arma_window="90s")
