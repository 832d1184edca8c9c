"""The compact Kalman state gives statsmodels' own numbers, on a real CloudWatch series."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.compact_kalman import CompactStateSpace


@pytest.fixture(scope="module")
def cpu(shared_data: Path) -> np.ndarray:
    p = shared_data / "nab" / "realAWSCloudwatch" / "ec2_cpu_utilization_24ae8d.csv"
    return pd.read_csv(p)["value"].to_numpy(dtype=float)


@pytest.mark.parametrize(
    ("order", "trend"), [((2, 0, 1), "c"), ((1, 1, 1), "n"), ((0, 1, 1), "n"), ((1, 0, 0), "c")]
)
def test_update_and_forecast_match_statsmodels(cpu: np.ndarray, order, trend: str) -> None:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    train, new = cpu[:1500], cpu[1500:1560].copy()
    new[7] = np.nan  # a missing sample is predicted through, as statsmodels does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(train, order=order, trend=trend).fit(disp=False)
        compact = CompactStateSpace.from_results(res)
        m0, v0 = compact.forecast(6)
        fc0 = res.get_forecast(6)
        extended = res.extend(new)
        fc = extended.get_forecast(24)
    np.testing.assert_allclose(m0, fc0.predicted_mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(v0, fc0.var_pred_mean, rtol=1e-9)
    compact.update(new)
    mean, var = compact.forecast(24)
    np.testing.assert_allclose(mean, fc.predicted_mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(var, fc.var_pred_mean, rtol=1e-9)


def test_exponential_smoothing_with_a_concentrated_scale(cpu: np.ndarray) -> None:
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(cpu[:1000], trend=True, damped_trend=True)
        res = model.fit(disp=False)
        compact = CompactStateSpace.from_results(res)
        at_fit = res.get_forecast(12)
        # The reference after new data: the same parameters filtered over all of it.
        full = ExponentialSmoothing(cpu[:1030], trend=True, damped_trend=True).filter(res.params)
        after = full.get_forecast(12)
    m0, v0 = compact.forecast(12)
    np.testing.assert_allclose(m0, at_fit.predicted_mean, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(v0, at_fit.var_pred_mean, rtol=1e-8)
    compact.update(cpu[1000:1030])
    mean, var = compact.forecast(12)
    np.testing.assert_allclose(mean, after.predicted_mean, rtol=1e-6, atol=1e-6)
    # The variance keeps the scale fitted on the first 1,000 points; the reference
    # re-estimates it over all 1,030, so compare in the fitted scale's units.
    rescaled = after.var_pred_mean * res.filter_results.scale / full.filter_results.scale
    np.testing.assert_allclose(var, rescaled, rtol=1e-6)


def test_time_varying_models_are_refused(cpu: np.ndarray) -> None:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    x = np.arange(300, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(cpu[:300], exog=x, order=(1, 0, 0), mle_regression=False).fit(disp=False)
    with pytest.raises(ValueError, match="time-varying"):
        CompactStateSpace.from_results(res)


def _plain_update(k: CompactStateSpace, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kalman recursions written out at every step (the reference for the shortcut)."""
    a, P = k.a.copy(), k.P.copy()
    for value in y:
        if np.isnan(value):
            a, P = k.T @ a + k.c, k.T @ P @ k.T.T + k.RQR
            continue
        PZ = P @ k.Z
        F = float(k.Z @ PZ) + k.H
        v = value - float(k.Z @ a) - k.d
        K = (k.T @ PZ) / F
        a = k.T @ a + k.c + K * v
        P = k.T @ P @ k.T.T + k.RQR - np.outer(K, K) * F
    return a, 0.5 * (P + P.T)


def _fixed_point_after(k: CompactStateSpace, steps: int) -> bool:
    """Whether the covariance recursion reaches an exact fixed point within ``steps``."""
    P = k.P
    for _ in range(steps):
        PZ = P @ k.Z
        F = float(k.Z @ PZ) + k.H
        K = (k.T @ PZ) / F
        after = k.T @ P @ k.T.T + k.RQR - np.outer(K, K) * F
        if np.array_equal(after, P):
            return True
        P = after
    return False


# AR(1) and AR(3) reach an exact fixed point within a few steps here; ARIMA(2,1,1) does
# not (the last bit alternates), so it takes every step in full
@pytest.mark.parametrize(
    ("order", "converges"), [((1, 0, 0), True), ((3, 0, 0), True), ((2, 1, 1), False)]
)
def test_a_converged_filter_moves_the_state_exactly_as_every_step_would(
    cpu, order, converges
) -> None:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(cpu[:1200], order=order, trend="n").fit(disp=False)
    compact = CompactStateSpace.from_results(res)
    assert _fixed_point_after(compact, 30) == converges
    new = cpu[1200:1500].copy()
    new[[40, 41, 200]] = np.nan  # a missing value unsettles the covariance for a while
    a, P = _plain_update(compact, new)
    compact.update(new[:150])  # in two calls, as a daemon's updates come
    compact.update(new[150:])
    np.testing.assert_array_equal(compact.a, a)
    np.testing.assert_array_equal(compact.P, P)
