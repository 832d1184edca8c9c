"""Choosing and estimating a non-seasonal exponential smoothing model by AICc.

The candidate forms are ETS(A,N,N), ETS(A,Ad,N) and, for strictly positive data, their
multiplicative-error twins ETS(M,N,N) and ETS(M,Ad,N), as in Hyndman et al.'s automatic
ETS. A multiplicative error leaves the point recursions unchanged (the level and
damped trend are moved by ``alpha`` and ``beta`` times the one-step error either way):
it changes the likelihood, which weighs each error by the level it happened at, so a
burst at a high level no longer drags the smoothing parameters towards chasing spikes.
The chosen parameters are then run through the additive state-space model, whose
point forecasts are the same.

One-step predictions for given parameters are a linear filter of the series (the
model in innovations form is a two-state linear system driven by ``y``), computed with
``scipy.signal.lfilter``: a likelihood costs microseconds, so four forms are estimated
by L-BFGS-B in well under a second on a week of 5-minute data. The initial states
enter the predictions linearly (as the filter's free response), so for each smoothing
parameter set they can be concentrated out by least squares (``initial="estimated"``):
two more filters per evaluation. The default fixes them (``"first hour"``: the mean of
the first 12 points and no trend). That is wrong where ``alpha`` is tiny, which a
series that is a mean plus noise gets: with ``alpha`` 1e-4 a week of 5-minute data
still weighs the initial level by 0.8, so the forecast is four-fifths the first hour's
mean. Yet on the 33-series benchmark the estimate, which gains there, loses about as
much elsewhere (leave-one-series-out, within 1 %: docs/forecast-accuracy.md, issue
13), so the cheaper fixed start stays the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PHI_BOUNDS = (0.8, 0.98)  # the usual range for a damped trend (Hyndman & Athanasopoulos)
ALPHA_BOUNDS = (1e-4, 0.9999)


@dataclass(frozen=True)
class EtsFit:
    """A fitted form: ``error`` 'A' or 'M'; ``damped`` trend or none."""

    error: str
    damped: bool
    alpha: float
    beta: float
    phi: float
    level0: float
    trend0: float
    aicc: float

    def describe(self) -> str:
        return f"ETS({self.error},{'Ad' if self.damped else 'N'},N)"


def one_step(y: np.ndarray, alpha: float, beta: float, phi: float, l0: float, b0: float):
    """One-step-ahead predictions ``yhat[t]`` of the (damped-trend) smoothing recursions.

    State ``x = (level, trend)``; ``yhat_t = w'x_{t-1}`` with ``w = (1, phi)``;
    ``x_t = F x_{t-1} + g e_t`` with ``F = [[1, phi], [0, phi]]`` and ``g = (alpha,
    beta)``. Substituting ``e_t = y_t - w'x_{t-1}`` gives ``x_t = D x_{t-1} + g y_t``
    with ``D = F - g w'``: a rational filter of ``y`` plus the free response to ``x_0``.
    """
    from scipy.signal import lfilter

    w = np.array([1.0, phi])
    g = np.array([alpha, beta])
    d = np.array([[1.0, phi], [0.0, phi]]) - np.outer(g, w)
    a = np.array([1.0, -(d[0, 0] + d[1, 1]), d[0, 0] * d[1, 1] - d[0, 1] * d[1, 0]])
    c0 = w @ g
    c1 = -w[0] * g[0] * d[1, 1] + w[0] * d[0, 1] * g[1] + w[1] * d[1, 0] * g[0]
    c1 -= w[1] * g[1] * d[0, 0]
    forced = lfilter([0.0, c0, c1], a, y)
    return forced + _free(len(y), w, d, a, np.array([l0, b0]))


def _free(n: int, w: np.ndarray, d: np.ndarray, a: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """The predictions' response to the initial state ``x0`` alone (no data)."""
    from scipy.signal import lfilter

    s1, s2 = w @ x0, w @ d @ x0
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return lfilter([s1, s2 + a[1] * s1], a, impulse)


def one_step_estimated(
    y: np.ndarray, alpha: float, beta: float, phi: float, error: str, damped: bool
) -> tuple[np.ndarray, float, float]:
    """``(yhat, l0, b0)``: ``one_step`` at the initial states that fit ``y`` best.

    The predictions are ``forced + l0 * f_l + b0 * f_b`` (free responses to a unit
    initial level and trend), so the best states are a least-squares fit of ``y -
    forced`` (for multiplicative errors too: weighting by ``1 / y`` in place of the
    unknown ``1 / yhat`` went wrong after bursts). Where that start would make a
    multiplicative form's prediction non-positive, the first hour's mean is used.
    Without a trend only the level.
    """
    zero = one_step(y, alpha, beta, phi, 0.0, 0.0)
    w = np.array([1.0, phi])
    g = np.array([alpha, beta])
    d = np.array([[1.0, phi], [0.0, phi]]) - np.outer(g, w)
    a = np.array([1.0, -(d[0, 0] + d[1, 1]), d[0, 0] * d[1, 1] - d[0, 1] * d[1, 0]])
    cols = [_free(len(y), w, d, a, np.array([1.0, 0.0]))]
    if damped:
        cols.append(_free(len(y), w, d, a, np.array([0.0, 1.0])))
    x = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(x, y - zero, rcond=None)
    yhat = zero + x @ coef
    if error == "M" and (yhat <= 0).any():
        # after a burst the fit may want a negative start, which a multiplicative
        # error cannot take: the first hour's mean instead, as before
        l0 = float(y[: min(12, len(y))].mean())
        return one_step(y, alpha, beta, phi, l0, 0.0), l0, 0.0
    return yhat, float(coef[0]), float(coef[1]) if damped else 0.0


def _neg_loglik(y: np.ndarray, yhat: np.ndarray, error: str) -> float:
    n = len(y)
    e = y - yhat
    if error == "A":
        sse = float(e @ e)
        return 0.5 * n * math.log(max(sse / n, 1e-300))
    if (yhat <= 0).any():
        return math.inf
    rel = e / yhat
    sse = float(rel @ rel)
    return 0.5 * n * math.log(max(sse / n, 1e-300)) + float(np.log(yhat).sum())


INITIAL = ("estimated", "first hour")


def _fit_form(y: np.ndarray, error: str, damped: bool, initial: str) -> EtsFit | None:
    from scipy.optimize import minimize

    n = len(y)
    l0, b0 = float(y[: min(12, n)].mean()), 0.0
    estimated = initial == "estimated"

    def predictions(alpha: float, beta: float, phi: float) -> tuple[np.ndarray, float, float]:
        if estimated:
            return one_step_estimated(y, alpha, beta, phi, error, damped)
        return one_step(y, alpha, beta, phi, l0, b0), l0, b0

    def unpack(theta: np.ndarray) -> tuple[float, float, float]:
        alpha = float(theta[0])
        if not damped:
            return alpha, 0.0, 0.0
        return alpha, alpha * float(theta[1]), float(theta[2])

    def objective(theta: np.ndarray) -> float:
        alpha, beta, phi = unpack(theta)
        value = _neg_loglik(y, predictions(alpha, beta, phi)[0], error)
        return value if math.isfinite(value) else 1e300

    if damped:
        starts = [np.array([0.5, 0.1, 0.9]), np.array([0.9, 0.05, 0.95])]
        bounds = [ALPHA_BOUNDS, (1e-4, 0.9999), PHI_BOUNDS]
    else:
        starts = [np.array([0.5]), np.array([0.95])]
        bounds = [ALPHA_BOUNDS]
    if estimated:
        # with the states estimated, "a constant mean" (alpha at its lower bound) is a
        # local optimum that L-BFGS-B's first step often falls into from 0.5 or 0.95:
        # start from the best two points of a coarse grid instead
        starts = sorted(_grid(damped), key=objective)[:2]
    best = None
    for x0 in starts:
        res = minimize(objective, x0, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(res.fun) and res.fun < 1e299 and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        return None
    alpha, beta, phi = unpack(best.x)
    _, l0, b0 = predictions(alpha, beta, phi)
    k = (3 if damped else 1) + (2 if damped else 1) + 1  # smoothing, initial states, variance
    aicc = 2 * best.fun + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n > k + 1 else math.inf)
    return EtsFit(error, damped, alpha, beta, phi, l0, b0, float(aicc))


def _grid(damped: bool) -> list[np.ndarray]:
    alphas = (0.001, 0.01, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 0.99)
    if not damped:
        return [np.array([a]) for a in alphas]
    return [np.array([a, b, p]) for a in alphas[::2] for b in (0.05, 0.5) for p in (0.85, 0.95)]


def select(
    y: np.ndarray,
    trend: bool | None = None,
    errors: tuple[str, ...] = ("A", "M"),
    initial: str = "first hour",
):
    """The form with the lowest AICc (``trend`` None: with and without a damped trend;
    True/False: only that). Multiplicative errors only for strictly positive ``y``.
    ``initial``: how the initial states are set (``INITIAL``; see the module).
    Returns ``(best, all fits)``; raises ``ValueError`` when no form could be fitted."""
    if initial not in INITIAL:
        raise ValueError(f"initial must be one of {', '.join(INITIAL)}, not {initial!r}")
    y = np.asarray(y, dtype=float)
    dampings = (False, True) if trend is None else (bool(trend),)
    kinds = [e for e in errors if e == "A" or (e == "M" and float(y.min()) > 0)]
    fits = [
        f for e in kinds for dmp in dampings if (f := _fit_form(y, e, dmp, initial)) is not None
    ]
    if not fits:
        raise ValueError("no exponential smoothing form could be fitted")
    return min(fits, key=lambda f: f.aicc), fits
