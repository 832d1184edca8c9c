"""A non-invertible MA estimate is reflected into its invertible twin before the polish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.arima import ArimaForecaster, invertible

STEP = timedelta(minutes=5)


def autocovariances(ma: np.ndarray, sigma2: float) -> np.ndarray:
    theta = np.r_[1.0, ma]
    return sigma2 * np.array([theta[k:] @ theta[: len(theta) - k] for k in range(len(theta))])


@pytest.mark.parametrize("ma", [[-1.25], [0.4, -1.6], [-2.1, 1.2]])
def test_the_twin_is_invertible_with_the_same_autocovariances(ma) -> None:
    ma = np.array(ma)
    assert (np.abs(np.roots(np.r_[1.0, ma])) > 1).any()  # the case: not invertible
    twin, s2 = invertible(ma, 2.0)
    assert (np.abs(np.roots(np.r_[1.0, twin])) < 1).all()
    np.testing.assert_allclose(autocovariances(twin, s2), autocovariances(ma, 2.0), rtol=1e-9)


def test_an_invertible_estimate_is_left_alone() -> None:
    twin, s2 = invertible(np.array([-0.9, 0.2]), 3.0)
    np.testing.assert_array_equal(twin, [-0.9, 0.2])
    assert s2 == 3.0


def test_an_overdifferenced_series_is_polished_from_the_twin() -> None:
    # white noise around a mean, differenced: MA(1) with its root at -1, where
    # Hannan-Rissanen lands outside the unit circle; the polish must still run
    rng = np.random.default_rng(1)
    y = pd.Series(
        10 + rng.normal(0, 1, 1440),
        index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=1440, freq=STEP),
    )
    kw = {"orders": ((0, 1),), "d": 1, "seasonal": False, "polish": 20}
    skipped = ArimaForecaster(STEP, reflect=False, **kw).fit(y)
    polished = ArimaForecaster(STEP, **kw).fit(y)
    assert skipped.fitted_params[0] < -1  # the Hannan-Rissanen start, unpolished
    assert -1 < polished.fitted_params[0] < -0.99  # the likelihood's maximum is at -1


@pytest.mark.parametrize("kind", ["arima", "ets"])
def test_a_model_stored_before_the_new_settings_loads_and_forecasts(kind) -> None:
    from autoscaler.forecasters.registry import build_forecaster
    from autoscaler.forecasters.restricted_pickle import dump_model, load_model

    rng = np.random.default_rng(2)
    y = pd.Series(
        50 + rng.normal(0, 1, 1000).cumsum() * 0.3,
        index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=1000, freq=STEP),
    )
    model = build_forecaster(kind, STEP, fallback=True).fit(y.iloc[:900])
    expected = build_forecaster(kind, STEP, fallback=True).fit(y.iloc[:900])
    expected.update(y.iloc[900:])
    old = model.primary
    for name in ("reflect", "season_gain", "initial"):  # read at fit only
        if hasattr(old, name):
            delattr(old, name)
    loaded = load_model(dump_model(model))
    loaded.update(y.iloc[900:])
    np.testing.assert_allclose(loaded.predict(6).mean, expected.predict(6).mean)
