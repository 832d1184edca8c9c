"""The checks of a short forecast on Python floats: what ``BaseForecaster.predict_arrays``
does to a model's mean and bands (finite, plausible, non-negative, monotone), without a
numpy call per check.

A decision's forecast is a few steps (boot delay and two cadences: 4 on a 2-minute
boot); numpy's cost per call on a 3 x 4 array was most of a forecast's. These helpers
follow numpy's own element rules, ties and NaN included, so the arrays built from their
result are the ones the array path gives, to the bit (``tests/unit/forecasters/
test_short_path.py`` compares them, signed zeros and non-finite values included):

* ``np.maximum(a, b)`` / ``np.minimum(a, b)``: NaN if either is; on a tie, ``b``;
* ``np.fmax(a, b)``: the other one if one is NaN; on a tie, ``a``;
* ``np.maximum.accumulate`` / ``.reduce``: ``maximum(previous, next)`` in order.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

import numpy as np

from autoscaler.model import ForecastError

# Forecasts of up to this many steps (with quantiles) take this path.
SHORT = 16


def np_maximum(a: float, b: float) -> float:
    """``np.maximum(a, b)`` on two floats."""
    return a if (a > b or a != a) else b


def np_minimum(a: float, b: float) -> float:
    """``np.minimum(a, b)`` on two floats."""
    return a if (a < b or a != a) else b


def np_fmax(a: float, b: float) -> float:
    """``np.fmax(a, b)`` on two floats."""
    if a != a:
        return b
    return a if (a >= b or b != b) else b


def checked_short(
    name: str,
    mean: list[float],
    rows: list[list[float]],
    quantiles: tuple[float, ...],
    nonnegative: bool,
    bound: float,
) -> tuple[list[float], list[list[float]]]:
    """``predict_arrays``'s checks and shaping of ``mean`` (one float per step) and
    ``rows`` (one list per quantile of the sorted, checked ``quantiles``): the values
    of its arrays (``short_arrays`` builds them), the same errors. Raises
    ``ForecastError``."""
    if not math.isfinite(sum(mean)):  # a sum of finite values may overflow: look closer
        for m in mean:
            if not math.isfinite(m):  # NaN or infinite somewhere
                raise ForecastError(f"{name} produced an invalid forecast")
    if max(map(abs, mean)) > bound:
        # A numerically unstable model, not a forecast: let the caller fall back.
        raise ForecastError(f"{name} produced an implausible forecast (beyond {bound:.4g})")
    held = [m if m > 0.0 else 0.0 for m in mean] if nonnegative else mean  # np.maximum
    # monotone_rows: under the (held) mean below 0.5, over it above, then a running max
    below, above = bisect_left(quantiles, 0.5), bisect_right(quantiles, 0.5)
    out: list[list[float]] = []
    for i, row in enumerate(rows):
        if not math.isfinite(sum(row)):
            # A degenerate interval (NaN spread) collapses onto the mean, not a failure.
            row = [v if math.isfinite(v) else m for v, m in zip(row, mean, strict=True)]
        # (each rule's list is built only when it changes something: every value is
        # finite now, and a value strictly past the bound is kept as it is)
        if nonnegative and not min(row) > 0.0:
            row = [v if v > 0.0 else 0.0 for v in row]
        if i < below and not max(row) < min(held):
            row = [v if v < m else m for v, m in zip(row, held, strict=True)]
        elif i >= above and not min(row) > max(held):
            row = [v if v > m else m for v, m in zip(row, held, strict=True)]
        if out:
            row = [p if p > v else v for p, v in zip(out[-1], row, strict=True)]
        out.append(row)
    return held, out


def short_arrays(
    mean: list[float], rows: list[list[float]], quantiles: tuple[float, ...]
) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """``checked_short``'s floats as ``predict_arrays`` returns them: the mean, and the
    bands by quantile (rows of one array)."""
    stacked = np.array(rows, dtype=float)
    return np.array(mean, dtype=float), dict(zip(quantiles, stacked, strict=True))
