"""ETS form selection by AICc: the form a synthetic series is built from is the one chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.ets_select import one_step, one_step_estimated, select
from autoscaler.forecasters.registry import build_forecaster

STEP = timedelta(minutes=5)


def loop_one_step(y, alpha, beta, phi, l0, b0):
    level, trend, out = l0, b0, []
    for v in y:
        yhat = level + phi * trend
        out.append(yhat)
        e = v - yhat
        level, trend = yhat + alpha * e, phi * trend + beta * e
    return np.array(out)


@pytest.mark.parametrize("params", [(0.3, 0.0, 0.0, 5.0, 0.0), (0.5, 0.2, 0.9, -2.0, 1.5)])
def test_the_filter_is_the_smoothing_recursion(params) -> None:
    y = np.cumsum(np.random.default_rng(3).normal(size=400))
    np.testing.assert_allclose(one_step(y, *params), loop_one_step(y, *params), atol=1e-9)


def simulate(n: int, alpha: float, beta: float, phi: float, error: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    level, trend, y = 100.0, 0.0, np.empty(n)
    for i in range(n):
        yhat = level + phi * trend
        e = rng.normal(0, 1.0) if error == "A" else yhat * rng.normal(0, 0.05)
        y[i] = yhat + e
        level, trend = yhat + alpha * e, phi * trend + beta * e
    return y


def test_a_level_with_noise_is_a_level_model_with_its_alpha() -> None:
    best, _ = select(simulate(2000, 0.3, 0.0, 0.0, "A"), errors=("A",))
    assert not best.damped
    assert best.alpha == pytest.approx(0.3, abs=0.06)


def test_a_drifting_trend_is_a_damped_trend_model() -> None:
    best, _ = select(simulate(2000, 0.4, 0.3, 0.97, "A", seed=1), errors=("A",))
    assert best.damped and best.describe() == "ETS(A,Ad,N)"


def test_noise_proportional_to_the_level_is_a_multiplicative_error() -> None:
    # a random walk of the level over a wide range: 5% noise is 5 units at 100, 50 at 1000
    y = simulate(2000, 0.9, 0.0, 0.0, "M", seed=2)
    assert y.min() > 0 and y.max() / y.min() > 3
    best, _ = select(y)
    assert best.error == "M"
    assert select(y - y.min())[0].error == "A"  # with a zero, multiplicative is not tried


def test_the_forecaster_follows_the_chosen_form_through_updates() -> None:
    y = simulate(2100, 0.3, 0.0, 0.0, "A", seed=4)
    s = pd.Series(y, index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=2100, freq=STEP))
    model = build_forecaster("ets", STEP, seasonal=False).fit(s.iloc[:2000])
    assert model.summary.startswith("ETS(A,N,N)")
    model.update(s.iloc[2000:])
    f = model.form
    expected = loop_one_step(np.r_[y, 0.0], f.alpha, 0.0, 0.0, f.level0, 0.0)[-1]
    assert model.predict(3).mean == pytest.approx(np.full(3, expected), rel=1e-6)


def test_the_initial_states_are_the_least_squares_fit() -> None:
    y = simulate(600, 0.4, 0.1, 0.9, "A", seed=5)
    yhat, l0, b0 = one_step_estimated(y, 0.4, 0.1, 0.9, "A", damped=True)
    np.testing.assert_allclose(yhat, one_step(y, 0.4, 0.1, 0.9, l0, b0), atol=1e-8)
    sse = float(((y - yhat) ** 2).sum())
    for dl, db in ((0.5, 0.0), (-0.5, 0.0), (0.0, 0.2), (0.0, -0.2)):
        moved = one_step(y, 0.4, 0.1, 0.9, l0 + dl, b0 + db)
        assert float(((y - moved) ** 2).sum()) > sse


def test_a_mean_plus_noise_is_forecast_at_its_mean_not_its_first_hour() -> None:
    # white noise around 50 whose first hour happens to sit 2 lower: nothing to follow,
    # so the estimate takes a tiny alpha and the mean. With the level fixed at the first
    # hour's mean (the rule this replaces) the fit must either keep it in the forecast,
    # with weight (1 - alpha) ** n, or raise alpha to forget it and chase the noise
    y = 50.0 + np.random.default_rng(6).normal(0, 1.0, 2016)
    y[:12] -= 2.0
    for initial in ("estimated", "first hour"):
        best, _ = select(y, errors=("A",), initial=initial)
        f = one_step(np.r_[y, 0.0], best.alpha, best.beta, best.phi, best.level0, best.trend0)
        if initial == "estimated":
            assert best.alpha < 0.01
            assert abs(f[-1] - y[12:].mean()) < 0.1
        else:
            assert best.alpha > 0.02
    with pytest.raises(ValueError, match="initial"):
        select(y, initial="backcast")
