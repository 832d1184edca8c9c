"""Hannan-Rissanen ARMA estimates for ARIMA's order grid, the long autoregression shared.

statsmodels' ``hannan_rissanen`` (Brockwell & Davis 2016, 5.1.4) as ``arima`` calls it
(``demean=False``, no seasonal part, no fixed parameters), step by step: (1) a long
AR(m) by Yule-Walker, m = max(floor(log(n)^2), 2 max(p, q)), for the innovations;
(2) least squares of the series on its p lags and q lagged innovations (for q = 0 on
its lags alone, and no more); (3) where that is stationary and invertible, the bias
correction. Its cost was most of an ARIMA fit:
a Python loop over every point in step 3 and a model object per regression. Here step
1 is computed once for every order of a grid that shares m (all of them, on a day or
more of data), step 3's recursion is a linear filter, and the regressions are the
same pseudo-inverse solves statsmodels' OLS makes. The estimates agree with
statsmodels' to rounding (the filter sums in another order: relative 1e-12,
``tests/unit/forecasters/test_hannan_rissanen.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ArmaEstimate:
    """``ar`` (phi_1..phi_p), ``ma`` (theta_1..theta_q) and the innovation variance."""

    ar_params: np.ndarray
    ma_params: np.ndarray
    sigma2: float


def _lags(x: np.ndarray, k: int) -> np.ndarray:
    """statsmodels' ``lagmat(x, k, trim="both")``: row ``t - k`` holds x[t-1], ..., x[t-k]."""
    n = len(x)
    if k == 0:
        return np.empty((n, 0))
    return np.column_stack([x[k - i : n - i] for i in range(1, k + 1)])


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """statsmodels' ``OLS(y, x).fit()``: its parameters and ``scale``, the same solve."""
    from statsmodels.tools.tools import pinv_extended

    pinv, singular_values = pinv_extended(x)
    params = np.dot(pinv, y)
    resid = y - np.dot(x, params)
    rank = np.linalg.matrix_rank(np.diag(singular_values))
    return params, float(np.dot(resid, resid) / (float(x.shape[0]) - rank))


@dataclass
class HannanRissanen:
    """Estimates on one (stationary, already differenced) series ``w``; the long
    autoregression's innovations are kept per order m for the next call."""

    w: np.ndarray
    _innovations: dict[int, np.ndarray] = field(default_factory=dict)

    def _long_ar_residuals(self, m: int) -> np.ndarray:
        if m not in self._innovations:
            from statsmodels.regression.linear_model import yule_walker

            params, _ = yule_walker(self.w, order=m, method="mle", result_object=False)
            self._innovations[m] = self.w[m:] - _lags(self.w, m).dot(params)
        return self._innovations[m]

    def estimate(self, p: int, q: int) -> ArmaEstimate:
        """ARMA(p, q) with p + q > 0. Raises ``ValueError`` where the series is too short."""
        from scipy.signal import lfilter, lfiltic
        from statsmodels.tsa.statespace.tools import is_invertible

        w = self.w
        n = len(w)
        m = max(int(np.floor(np.log(n) ** 2)), 2 * max(p, q))
        if max(p, q) >= n or m >= n or m <= max(p, q):
            raise ValueError(f"Hannan-Rissanen: {n} points are too few for ({p}, {q})")
        lagged = _lags(w, p)
        if q == 0:  # an autoregression: least squares, no correction (as statsmodels)
            params, sigma2 = _ols(w[p:], lagged)
            return ArmaEstimate(params, np.empty(0), sigma2)
        y = w[m + q :]
        x = np.c_[lagged[m + q - p :], _lags(self._long_ar_residuals(m), q)]
        params, sigma2 = _ols(y, x)
        ar, ma = params[:p], params[p:]
        ar_poly, ma_poly = np.r_[1.0, -ar], np.r_[1.0, ma]
        if not ((p == 0 or is_invertible(ar_poly)) and is_invertible(ma_poly)):
            return ArmaEstimate(ar, ma, sigma2)
        # step 3: z_t = w_t - sum phi_i w_{t-i} - sum theta_j z_{t-j} from t = max(p, q)
        # on (z zero before), as a filter started from the series' values before it
        k = max(p, q)
        z = np.zeros(n)
        past = w[k - 1 :: -1][:p] if p and k else np.empty(0)
        zi = lfiltic(ar_poly, ma_poly, np.zeros(q), past)
        z[k:] = lfilter(ar_poly, ma_poly, w[k:], zi=zi)[0]
        v = lfilter([1], ar_poly, z)
        u = lfilter(np.r_[1, -ma], [1], z)
        exog = np.c_[_lags(v, p)[max(q - p, 0) :], _lags(u, q)[max(p - q, 0) :]]
        correction, _ = _ols(z[k:], exog)
        ar, ma = ar + correction[:p], ma + correction[p:]
        resid = y - x.dot(np.r_[ar, ma])
        return ArmaEstimate(ar, ma, float(np.inner(resid, resid) / len(resid)))
