"""Our Hannan-Rissanen estimates against statsmodels' own, on real series."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autoscaler.forecasters.arima import DEFAULT_ORDERS
from autoscaler.forecasters.hannan_rissanen import HannanRissanen


@pytest.mark.parametrize("differenced", [False, True])
def test_estimates_are_statsmodels_to_rounding(nab_cpu, nasa_5m, differenced):
    from statsmodels.tsa.arima.estimators.hannan_rissanen import hannan_rissanen

    for series in (nab_cpu, nasa_5m):
        v = series.to_numpy()
        w = np.diff(v) if differenced else v - v.mean()
        ours = HannanRissanen(w)
        corrected = 0
        for p, q in DEFAULT_ORDERS:  # every order of the grid, from one shared long AR
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref, _ = hannan_rissanen(w, ar_order=p, ma_order=q, demean=False)
            est = ours.estimate(p, q)
            np.testing.assert_allclose(est.ar_params, ref.ar_params, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(est.ma_params, ref.ma_params, rtol=1e-9, atol=1e-12)
            assert est.sigma2 == pytest.approx(ref.sigma2, rel=1e-9)
            corrected += q > 0 and ref.is_stationary and ref.is_invertible
        assert corrected  # the bias correction (step 3) was compared too, not only skipped


def test_too_short_a_series_is_a_value_error():
    with pytest.raises(ValueError, match="too few"):
        HannanRissanen(np.arange(2.0)).estimate(1, 1)
