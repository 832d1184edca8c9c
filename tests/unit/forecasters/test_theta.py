"""The Theta method: SES plus half the fitted drift, its season test and profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.registry import build_forecaster
from autoscaler.forecasters.theta import additive_profile, seasonal_by_test

STEP = timedelta(minutes=5)
DAY = 288


def as_series(values: np.ndarray) -> pd.Series:
    index = pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=len(values), freq=STEP)
    return pd.Series(values, index=index)


def test_an_exact_line_is_the_last_value_plus_half_its_slope_per_step() -> None:
    # no noise: SES's best weight is 1 (the last value), the drift half the slope
    y = 10 + 0.5 * np.arange(600)
    model = build_forecaster("theta", STEP, season=None).fit(as_series(y))
    assert model.alpha == 1.0
    np.testing.assert_allclose(model.predict(6).mean, y[-1] + 0.25 * np.arange(1, 7))


def test_the_weight_follows_the_noise() -> None:
    rng = np.random.default_rng(1)
    walk = build_forecaster("theta", STEP).fit(as_series(500 + np.cumsum(rng.normal(0, 2, 1000))))
    noise = build_forecaster("theta", STEP).fit(as_series(100 + rng.normal(0, 10, 1000)))
    assert walk.alpha > 0.8 and noise.alpha < 0.05


def test_a_daily_shape_is_found_and_forecast_by_position() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(4 * DAY + 12)
    shape = 50 * np.sin(2 * np.pi * t / DAY)
    y = 200 + shape + rng.normal(0, 1, len(t))
    model = build_forecaster("theta", STEP, season="auto").fit(as_series(y[:-12]))
    assert model.period == DAY
    err = np.abs(model.predict(12).mean - y[-12:]).mean()
    flat = build_forecaster("theta", STEP, season=None).fit(as_series(y[:-12]))
    assert err < 2.0 and err < np.abs(flat.predict(12).mean - y[-12:]).mean() / 3


def test_the_held_out_check_drops_a_season_the_last_day_does_not_have() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(7 * DAY)
    y = 200 + 50 * np.sin(2 * np.pi * t / DAY) * (t < 6 * DAY) + rng.normal(0, 1, len(t))
    tested = build_forecaster("theta", STEP, season="auto", season_gain=None).fit(as_series(y))
    checked = build_forecaster("theta", STEP, season="auto", season_gain=0.95)
    checked.fit(as_series(y))
    assert tested.period == DAY and checked.period == 0
    kept = build_forecaster("theta", STEP, season="auto", season_gain=0.95)
    assert kept.fit(as_series(200 + 50 * np.sin(2 * np.pi * t / DAY))).period == DAY


def test_the_season_test_rejects_noise_and_short_history() -> None:
    rng = np.random.default_rng(3)
    assert not seasonal_by_test(rng.normal(0, 1, 4 * DAY), DAY)
    shaped = np.sin(2 * np.pi * np.arange(4 * DAY) / DAY)
    assert seasonal_by_test(shaped, DAY)
    assert not seasonal_by_test(shaped[: 3 * DAY - 1], DAY)


@pytest.mark.parametrize("period", [5, 6])
def test_the_additive_profile_recovers_a_known_one(period: int) -> None:
    profile = np.arange(period, dtype=float) - (period - 1) / 2
    t = np.arange(20 * period)
    y = 3 + 0.1 * t + profile[t % period]
    np.testing.assert_allclose(additive_profile(y, period), profile, atol=1e-9)


def test_update_moves_the_level_and_the_phase() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(4 * DAY + 50)
    y = 100 + 30 * np.sin(2 * np.pi * t / DAY) + rng.normal(0, 1, len(t))
    fitted = build_forecaster("theta", STEP, season="auto").fit(as_series(y[: 4 * DAY]))
    fitted.update(as_series(y)[4 * DAY : 4 * DAY + 38])
    fc = fitted.predict(12, (0.05, 0.95))
    assert np.abs(fc.mean - y[-12:]).mean() < 3.0
    assert (fc.quantiles[0.05] < fc.mean).all() and (fc.mean < fc.quantiles[0.95]).all()
    # the band widens with the lead (SES's variance growth)
    width = fc.quantiles[0.95] - fc.quantiles[0.05]
    assert (np.diff(width) >= 0).all()
