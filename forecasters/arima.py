"""ARIMA on the deseasonalised series, order chosen by AIC over a grid.

The differencing order comes from a KPSS test (AIC is not comparable across
differencing orders). Each candidate (p, q), every one with p <= 3 and q <= 2, is
estimated by Hannan-Rissanen (least-squares regressions, ``hannan_rissanen``) and
scored by the exact Gaussian AIC of one Kalman pass at those parameters; the winner's
parameters are then polished by maximum likelihood (up to ``polish`` iterations).
Full MLE of every candidate would take several seconds a fit. Daily (and, given two
weeks, weekly) seasonality is handled by STL/MSTL outside the model: never a seasonal
ARIMA with s=288.

The grid and the polish were chosen leave-one-series-out on the 33-series benchmark
(docs/forecast-accuracy.md, issue 13) among the earlier five orders with 5 polish
iterations, the wider grid, and 50 iterations: the slow MA root near -1 of a series
that then shifts level (ec2_cpu_utilization_ac20cd) is only moved off -0.98 by a
polish run to convergence, and the wider grid finds the AR(3)/MA(2) structure of
others (rds_cpu_utilization_cc0c53, ec2_cpu_utilization_77c1ca).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from autoscaler.forecasters.hannan_rissanen import HannanRissanen
from autoscaler.forecasters.statespace import StateSpaceForecaster
from autoscaler.model import ForecastError

DEFAULT_ORDERS: tuple[tuple[int, int], ...] = tuple(
    (p, q) for p in range(4) for q in range(3) if p + q
)
# the grid before issue 13 (a benchmark candidate)
NARROW_ORDERS: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (0, 1), (1, 1), (2, 1))
POLISH = 50
# The (p, d, q) parameters are estimated on at most this many recent points of the
# deseasonalised series (see ``StateSpaceForecaster``). Chosen on the NAB CPU-like
# series of bench/forecast_accuracy.py (720, 1440 and all 2016 points compared);
# checked on the request-like ones.
ARMA_WINDOW = 1440


def needs_difference(r: np.ndarray) -> bool:
    """True when the KPSS test rejects level-stationarity at 5%."""
    from statsmodels.tsa.stattools import kpss

    try:
        _, p_value, *_ = kpss(r, regression="c", nlags="auto")
    except (ValueError, OverflowError):
        return False
    return bool(p_value < 0.05)


def stable(ar: np.ndarray) -> bool:
    """True when the AR polynomial is stationary (its inverse roots inside the unit circle).

    Hannan-Rissanen estimates are not constrained: an explosive AR polynomial gives
    forecasts that grow without bound. (A non-invertible MA part does not, and an MA
    root near -1 after differencing is how the data say "mean-reverting": allowed.)
    """
    roots = np.roots(np.r_[1.0, -np.asarray(ar)]) if len(ar) else np.empty(0)
    return bool(np.all(np.abs(roots) < 0.999))


def invertible(ma: np.ndarray, sigma2: float) -> tuple[np.ndarray, float]:
    """The invertible MA polynomial with the same autocovariances, and its variance.

    Each inverse root ``r`` outside the unit circle is replaced by ``1 / conj(r)`` and
    the innovation variance multiplied by ``|r|**2``: the same Gaussian process, so the
    same likelihood and the same Kalman forecasts. Hannan-Rissanen often lands just
    outside (an MA root near -1 after differencing, e.g. -1.02), where statsmodels'
    maximum-likelihood polish cannot start (its parameter transform needs an invertible
    start and returns NaN), so the polish was silently skipped.
    """
    ma = np.asarray(ma, dtype=float)
    if not len(ma):
        return ma, sigma2
    roots = np.roots(np.r_[1.0, ma])
    outside = np.abs(roots) > 1.0
    if not outside.any():
        return ma, sigma2
    scale = float(np.prod(np.abs(roots[outside]) ** 2))
    roots = np.where(outside, 1.0 / np.conj(roots), roots)
    return np.real(np.poly(roots)[1:]), sigma2 * scale


def next_finite(results: Any) -> bool:
    """Whether fitted statsmodels results forecast a finite next value: ``Z a + d`` at
    the filter's last predicted state, the number ``results.forecast(1)`` computes
    (which builds a prediction object first: 5 ms a candidate order)."""
    f = results.filter_results
    state = results.predicted_state[:, -1]
    return bool(np.isfinite(f.design[0, :, -1] @ state + f.obs_intercept[0, -1]))


class ArimaForecaster(StateSpaceForecaster):
    """``orders``: candidate (p, q) pairs; ``d``: 0, 1 or None (chosen by KPSS);
    ``polish``: maximum-likelihood iterations after the selection (0 to skip);
    ``arma_window``: points (or a duration) the parameters are estimated on;
    ``reflect``: start the polish from the invertible twin of a non-invertible MA
    estimate (``invertible``) instead of skipping it."""

    name = "arima"

    def __init__(
        self,
        step: timedelta,
        orders: Sequence[Sequence[int]] = DEFAULT_ORDERS,
        d: int | None = None,
        polish: int = POLISH,
        arma_window: int | str | None = ARMA_WINDOW,
        reflect: bool = True,
        **params: Any,
    ) -> None:
        orders = tuple((int(p), int(q)) for p, q in orders)
        super().__init__(
            step,
            orders=orders,
            d=d,
            polish=polish,
            arma_window=arma_window,
            reflect=reflect,
            **params,
        )
        if d not in (None, 0, 1):
            raise ForecastError(f"arima: d must be 0, 1 or None, not {d!r}")
        if not orders or any(p < 0 or q < 0 or p + q == 0 for p, q in orders):
            raise ForecastError(f"arima: orders must be (p, q) pairs with p + q > 0, not {orders}")
        self.orders = orders
        self.d = d
        self.polish = int(polish)
        self.reflect = bool(reflect)
        self.order: tuple[int, int, int] | None = None

    def _fit_remainder(self, r: np.ndarray) -> Any:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        d = self.d if self.d is not None else int(needs_difference(r))
        if d == 0:
            self._offset = float(r.mean())
        z = r - self._offset
        w = np.diff(z) if d else z
        best, best_aic, errors = None, math.inf, []
        estimates = HannanRissanen(w)  # statsmodels' estimates, the long AR shared
        for p, q in self.orders:
            try:
                hr = estimates.estimate(p, q)
                if not stable(hr.ar_params):
                    errors.append(f"({p},{d},{q}): unstable estimate")
                    continue
                model = SARIMAX(z, order=(p, d, q), trend="n")
                ma, sigma2 = hr.ma_params, max(float(hr.sigma2), 1e-12)
                if self.reflect:
                    ma, sigma2 = invertible(ma, sigma2)
                start = np.r_[hr.ar_params, ma, sigma2]
                res = model.filter(start, cov_type="none")
            except (ValueError, np.linalg.LinAlgError) as exc:
                errors.append(f"({p},{d},{q}): {exc}")
                continue
            usable = np.isfinite(res.aic) and next_finite(res)
            if usable and res.aic < best_aic:
                best, best_aic, self.order = (model, start, res), res.aic, (p, d, q)
        if best is None:
            raise ForecastError(f"arima: no candidate order could be fitted ({'; '.join(errors)})")
        model, start, res = best
        if self.polish > 0:
            polished = model.fit(
                start_params=start, disp=False, maxiter=self.polish, cov_type="none"
            )
            if (
                np.isfinite(polished.llf)
                and polished.llf >= res.llf
                and stable(polished.arparams)
                and next_finite(polished)
            ):
                res = polished
        return res

    def _describe(self) -> str:
        return f"ARIMA{self.order}"
