"""The ensemble's arithmetic on plain arrays: weighted combinations of members'
forecasts, and checkpoints waiting for their actuals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def blend(fcs: dict, weights: Mapping[str, float], quantiles: tuple[float, ...]) -> tuple:
    """(mean, bands) of the members' ``fcs`` by ``weights``, renormalised over those that
    made a forecast; (None, None) where none of them did."""
    total = sum(w for k, w in weights.items() if k in fcs)
    if not total:
        return None, None
    share = {k: w / total for k, w in weights.items() if k in fcs}
    mean = sum(w * fcs[k][0] for k, w in share.items())
    return mean, {q: sum(w * fcs[k][1][q] for k, w in share.items()) for q in quantiles}


def averaged(sums: Mapping[str, tuple[float, float]], apart: str) -> tuple[dict, float]:
    """Each scored candidate's decayed mean error from its (sum, weight), and the one
    named ``apart`` (the combination) taken out of them: inf where it is not scored."""
    scores = {k: s / w for k, (s, w) in sums.items() if w > 0}
    return scores, scores.pop(apart, np.inf)


def describe(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {w:.2f}" for k, w in weights.items())


def weighted(forecasts: dict, weights: dict[str, float]) -> tuple[np.ndarray, ...]:
    return tuple(sum(w * forecasts[k][j] for k, w in weights.items()) for j in range(3))


def settle(pending: list[Any], chunk: np.ndarray, horizon: int) -> tuple[list[Any], list[Any]]:
    """Extend each checkpoint's actuals from ``chunk`` up to ``horizon``: (the checkpoints
    now complete, those still waiting), both in their order."""
    complete, still = [], []
    for p in pending:
        p.actuals.extend(chunk[: horizon - len(p.actuals)].tolist())
        (complete if len(p.actuals) >= horizon else still).append(p)
    return complete, still
