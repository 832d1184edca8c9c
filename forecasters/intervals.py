"""Turning point forecasts and error samples into monotone quantile bands."""

from __future__ import annotations

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
    out = {q: np.empty(len(mean)) for q in quantiles}
    for h, e in enumerate(errors):
        e = e[np.isfinite(e)]
        offs = np.quantile(e, list(quantiles)) if e.size else np.zeros(len(quantiles))
        for q, off in zip(quantiles, offs, strict=True):
            out[q][h] = mean[h] + off
    return out


def make_monotone(bands: Mapping[float, np.ndarray]) -> dict[float, np.ndarray]:
    """Bands made non-decreasing in the probability at every step (by a running max)."""
    qs = sorted(bands)
    if not qs:
        return {}
    stacked = np.maximum.accumulate(np.vstack([bands[q] for q in qs]), axis=0)
    return {q: stacked[i] for i, q in enumerate(qs)}
