"""``predict_arrays``' checks of the bands a model returns: finite bands pass as they are
(also when their sum overflows), a NaN band value collapses onto the mean."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.base import BaseForecaster
from autoscaler.model import ForecastError

MIN = timedelta(minutes=1)


class _Fixed(BaseForecaster):
    """Predicts a mean of 1.0 and the bands it is given (a fake model)."""

    name = "fixed"

    def __init__(self, bands: np.ndarray) -> None:
        super().__init__(MIN)
        self.bands = bands

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _predict(self, horizon, quantiles):
        return np.ones(horizon), self.bands


def _fitted(bands: np.ndarray) -> _Fixed:
    y = pd.Series([1.0, 2.0, 1.5], index=pd.date_range("2024-01-01", periods=3, freq=MIN))
    return _Fixed(np.array(bands, dtype=float)).fit(y)


def test_finite_bands_whose_sum_overflows_are_kept_as_they_are():
    big = [[1.0, 1e308], [1e308, 1e308]]
    _, bands = _fitted(big).predict_arrays(2, (0.9, 0.95))
    np.testing.assert_array_equal(bands[0.9], [1.0, 1e308])
    np.testing.assert_array_equal(bands[0.95], [1e308, 1e308])


def test_a_nan_band_value_collapses_onto_the_mean():
    _, bands = _fitted([[np.nan, 3.0], [4.0, np.nan]]).predict_arrays(2, (0.9, 0.95))
    np.testing.assert_array_equal(bands[0.9], [1.0, 3.0])
    np.testing.assert_array_equal(bands[0.95], [4.0, 3.0])  # then made monotone in q


def test_remembered_quantile_checks_answer_and_refuse_as_check_quantiles():
    import pytest

    from autoscaler.forecasters.base import checked_quantiles
    from autoscaler.forecasters.intervals import check_quantiles
    from autoscaler.model import ForecastError

    for qs in ((0.9, 0.5), (0.5, 0.5, 0.95), [0.1, 0.2], (np.float64(0.3),), ()):
        assert checked_quantiles(qs) == check_quantiles(qs)
        assert checked_quantiles(qs) == check_quantiles(qs)  # the remembered answer
    for bad in ((0.5, 1.0), (float("nan"),), ([0.5],)):
        for _ in range(2):  # refused every time, not remembered
            with pytest.raises((ForecastError, TypeError)):
                checked_quantiles(bad)


class _Mean(_Fixed):
    """Predicts the mean it is given."""

    name = "mean"

    def __init__(self, mean: list[float]) -> None:
        super().__init__(np.zeros((0, len(mean))))
        self.mean = np.array(mean, dtype=float)

    def _predict(self, horizon, quantiles):
        return self.mean, np.zeros((len(quantiles), horizon))


def _mean_fitted(mean: list[float]) -> _Mean:
    y = pd.Series([1.0, 2.0, 1.5], index=pd.date_range("2024-01-01", periods=3, freq=MIN))
    return _Mean(mean).fit(y)


@pytest.mark.parametrize(
    "mean",
    [[1.0, np.nan], [np.nan, 1.0], [np.inf, 1.0], [1.0, -np.inf], [np.nan, np.inf]],
)
def test_a_mean_that_is_not_finite_anywhere_is_refused(mean):
    with pytest.raises(ForecastError, match="invalid forecast"):
        _mean_fitted(mean).predict_arrays(2, ())


def test_a_mean_beyond_the_plausible_bound_is_refused_on_either_sign():
    for mean in ([1.0, 1e6], [-1e6, 1.0]):
        with pytest.raises(ForecastError, match="implausible"):
            _mean_fitted(mean).predict_arrays(2, ())
    mean, _ = _mean_fitted([1.0, 20.0]).predict_arrays(2, ())  # within 10x the range
    np.testing.assert_array_equal(mean, [1.0, 20.0])


def test_an_infinite_band_value_collapses_onto_the_mean_as_a_nan_does():
    for bad in (np.inf, -np.inf):
        _, bands = _fitted([[bad, 3.0], [4.0, 5.0]]).predict_arrays(2, (0.9, 0.95))
        np.testing.assert_array_equal(bands[0.9], [1.0, 3.0])
        np.testing.assert_array_equal(bands[0.95], [4.0, 5.0])
    _, bands = _fitted([[np.inf, 3.0], [-np.inf, 5.0]]).predict_arrays(2, (0.9, 0.95))
    np.testing.assert_array_equal(bands[0.9], [1.0, 3.0])  # their sum is NaN: caught too
    np.testing.assert_array_equal(bands[0.95], [1.0, 5.0])
