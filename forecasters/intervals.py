"""Turning point forecasts and error samples into monotone quantile bands."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np

from autoscaler.model import ForecastError


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """Sorted, de-duplicated probabilities; raises ``ForecastError`` outside (0, 1)."""
    qs = tuple(sorted({float(q) for q in quantiles}))
    for q in qs:
        if not 0.0 < q < 1.0:
            raise ForecastError(f"quantile {q} is not strictly between 0 and 1")
    return qs


def normal_bands(
    mean: np.ndarray, sigma: np.ndarray, quantiles: Sequence[float]
) -> dict[float, np.ndarray]:
    """Gaussian quantiles ``mean + z_q * sigma`` per step (``sigma`` >= 0, same length)."""
    return {q: mean + NormalDist().inv_cdf(q) * sigma for q in quantiles}


def empirical_bands(
    mean: np.ndarray, errors: Sequence[np.ndarray], quantiles: Sequence[float]
) -> dict[float, np.ndarray]:
    """Quantiles from samples of past errors (actual - forecast), one sample per step.

    ``errors[h]`` holds the errors seen at lead ``h + 1``; an empty sample gives a
    zero-width band at that step.
    """
    qs = list(quantiles)
    if (
        len(errors) == len(mean)
        and errors
        and len({len(e) for e in errors}) == 1
        and len(errors[0])
    ):
        stacked = np.vstack(errors)
        if np.isfinite(stacked).all():  # one call for every step (the same samples)
            offs = np.quantile(stacked, qs, axis=1)
            return {q: mean + offs[i] for i, q in enumerate(qs)}
    out = {q: np.empty(len(mean)) for q in quantiles}
    probs = np.asarray(qs, dtype=float)
    for h, e in enumerate(errors):
        e = e[np.isfinite(e)]
        offs = sample_quantiles(e, probs) if e.size else np.zeros(len(quantiles))
        for q, off in zip(quantiles, offs, strict=True):
            out[q][h] = mean[h] + off
    return out


def sample_quantiles(sample: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``np.quantile(sample, probs)`` (its default "linear" method), bit for bit, for a
    non-empty 1-D sample of finite values and ``probs`` in [0, 1].

    The same partition, indexes and interpolation as numpy's, without its generic
    machinery, which cost four times the partition itself: a model whose error samples
    differ in length by lead (naive's on less than a week) asks once per lead, at every
    checkpoint of auto's validation.
    """
    n = len(sample)
    virtual = (n - 1) * probs
    below = np.floor(virtual)
    above = below + 1
    last = virtual >= n - 1  # at or past the largest value: numpy takes that value
    below[last] = above[last] = -1
    lo, hi = below.astype(np.intp), above.astype(np.intp)
    ordered = np.partition(sample, np.unique(np.concatenate((lo, hi))))
    a, b = ordered[lo], ordered[hi]
    gamma = virtual - lo
    diff = b - a
    out = a + diff * gamma
    # numpy's lerp: from the upper value down where the weight is past one half
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def make_monotone(
    bands: Mapping[float, np.ndarray], mean: np.ndarray | None = None
) -> dict[float, np.ndarray]:
    """Bands made non-decreasing in the probability at every step (by a running max).

    With ``mean``, every quantile below 0.5 is also held at or under the mean and every
    one above 0.5 at or over it, exactly: models compute their bands as mean + offset,
    and floating-point rounding (or clipping at zero) may otherwise leave a lower band a
    hair above the mean it should bracket. The median itself is left where the model put
    it, since a skewed error distribution has its median away from the mean.
    """
    qs = tuple(sorted(bands))
    if not qs:
        return {}
    stacked = np.vstack([np.asarray(bands[q], dtype=float) for q in qs])
    return monotone_rows(stacked, qs, mean)


def monotone_rows(
    stacked: np.ndarray, qs: tuple[float, ...], mean: np.ndarray | None = None
) -> dict[float, np.ndarray]:
    """``make_monotone`` on bands already stacked one row per quantile of ``qs``
    (sorted); ``stacked`` may be changed in place."""
    if mean is not None:
        m = np.asarray(mean, dtype=float)
        below = bisect_left(qs, 0.5)  # rows [0, below) are under 0.5, [above, n) over it
        above = bisect_right(qs, 0.5)
        if below:
            np.minimum(stacked[:below], m, out=stacked[:below])
        if above < len(qs):
            np.maximum(stacked[above:], m, out=stacked[above:])
    np.maximum.accumulate(stacked, axis=0, out=stacked)
    return dict(zip(qs, stacked, strict=True))
