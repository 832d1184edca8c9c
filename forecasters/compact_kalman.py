"""A fitted linear state-space model reduced to its matrices and its last Kalman state.

statsmodels keeps every fitted model's data, filter output and smoother workspace:
about a megabyte per model, and ``extend``/``get_forecast`` rebuild a model object on
each call. A thousand groups then cost gigabytes and milliseconds each. Once the
parameters are fixed, updating and forecasting need only the system matrices and the
one-step-ahead predicted state and covariance, so this keeps just those (a few dozen
floats) and runs the Kalman recursions in numpy: the same numbers, far less memory,
microseconds per step.

A concentrated-out variance scale stays at its fitted value (statsmodels' ``extend``
re-estimates it from the new points alone, which for a handful of points is noise).
Only time-invariant models are supported (ARIMA and exponential smoothing without
time-varying regressors); ``from_results`` raises ``ValueError`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class CompactStateSpace:
    """y_t = Z a_t + d + e_t (var H);  a_{t+1} = T a_t + c + R eta_t (var RQR').

    ``a``/``P`` are the predicted state and covariance for the next observation.
    """

    Z: np.ndarray
    d: float
    H: float
    T: np.ndarray
    c: np.ndarray
    RQR: np.ndarray
    a: np.ndarray
    P: np.ndarray

    @classmethod
    def from_results(cls, results: Any) -> CompactStateSpace:
        """Take the matrices and the final predicted state of fitted statsmodels results."""
        f = results.filter_results
        mats = {
            "design": f.design,
            "obs_intercept": f.obs_intercept,
            "obs_cov": f.obs_cov,
            "transition": f.transition,
            "state_intercept": f.state_intercept,
            "selection": f.selection,
            "state_cov": f.state_cov,
        }
        for name, m in mats.items():
            # statsmodels stores a constant trend with a time axis; equal slices are fine
            if m.shape[-1] != 1 and not np.allclose(m, m[..., :1]):
                raise ValueError(f"time-varying {name}: not a time-invariant model")
        if f.design.shape[0] != 1:
            raise ValueError("only univariate models are supported")
        R = f.selection[:, :, 0]
        return cls(
            Z=np.array(f.design[0, :, 0], dtype=float),
            d=float(f.obs_intercept[0, 0]),
            H=float(f.obs_cov[0, 0, 0]),
            T=np.array(f.transition[:, :, 0], dtype=float),
            c=np.array(f.state_intercept[:, 0], dtype=float),
            RQR=np.array(R @ f.state_cov[:, :, 0] @ R.T, dtype=float),
            a=np.array(results.predicted_state[:, -1], dtype=float),
            P=np.array(results.predicted_state_cov[:, :, -1], dtype=float),
        )

    def update(self, y: np.ndarray) -> None:
        """Filter new observations (NaN: a missing observation, predicted through).

        Once a step leaves the covariance exactly as it found it (the filter has
        converged, as it has after a fit on days of data), every later step would
        compute the same gain from it again: until the next missing value, only the
        state is moved, with that gain. The same numbers, in half the operations.
        """
        Z, T = self.Z, self.T
        a, P = self.a, self.P
        K = None  # the converged gain, once P is a fixed point
        for value in np.asarray(y, dtype=float):
            if np.isnan(value):
                a = T @ a + self.c
                P = T @ P @ T.T + self.RQR
                K = None
                continue
            if K is not None:
                a = T @ a + self.c + K * (value - float(Z @ a) - self.d)
                continue
            PZ = P @ Z
            F = float(Z @ PZ) + self.H
            v = value - float(Z @ a) - self.d
            if F <= 0:
                a = T @ a + self.c
                P = T @ P @ T.T + self.RQR
                continue
            gain = (T @ PZ) / F
            a = T @ a + self.c + gain * v
            after = T @ P @ T.T + self.RQR - np.outer(gain, gain) * F
            if np.array_equal(after, P):
                K = gain
            P = after
        self.a, self.P = a, 0.5 * (P + P.T)

    def forecast(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the next ``horizon`` observations."""
        mean = np.empty(horizon)
        var = np.empty(horizon)
        a, P = self.a, self.P
        for h in range(horizon):
            mean[h] = float(self.Z @ a) + self.d
            var[h] = float(self.Z @ P @ self.Z) + self.H
            a = self.T @ a + self.c
            P = self.T @ P @ self.T.T + self.RQR
        return mean, np.maximum(var, 0.0)
