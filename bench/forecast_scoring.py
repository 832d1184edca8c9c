"""Running our models over a series' origins, scoring forecasts, leave-one-series-out picks.

Protocol: ``k`` origins spread evenly over the last 20% of the series. A model is
fitted once, at the first origin, on the trailing ``train_window`` points, then brought
to each later origin with ``update`` (no refit) and asked for ``hmax`` steps there, as
the daemon does between retrains. statsforecast's models get the same origins the
same way (``forward``). Every model is built with the fallback and calibrated bands.
Times are CPU seconds of this process (on two cores shared by several people, wall time
measures the neighbours).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.backtest import mase_scale

BAND = (0.05, 0.95)


@dataclass(frozen=True)
class Run:
    """One model on one series: arrays are (origin, lead)."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    raw_low: np.ndarray  # the model's own band, before calibration
    raw_high: np.ndarray
    fit_seconds: float
    step_ms: float  # median one-point update + predict (one tick), over the origins
    fell_back: bool
    # a calibrated model's scores and forecasts (``ConformalForecaster.log``): its bands
    # under another calibration are replayed from them (``forecast_calibration``)
    calibration_log: list | None = None


def plan_origins(n: int, k: int, hmax: int, min_train: int = 24) -> np.ndarray:
    """``k`` positions (last training point) over the last 20% of ``n`` points."""
    first = max(int(n * 0.8) - 1, min_train)
    last = n - hmax - 1
    return np.unique(np.linspace(first, last, k).round().astype(int))


def run_model(
    make: Callable[[], Any], y: pd.Series, origins: np.ndarray, hmax: int, train_window: int
) -> Run:
    """Fit at ``origins[0]``, update to each origin, forecast ``hmax`` steps."""
    lo = max(0, int(origins[0]) + 1 - train_window)
    model = make()
    t0 = time.process_time()
    model.fit(y.iloc[lo : int(origins[0]) + 1])
    fit_s = time.process_time() - t0
    shape = (len(origins), hmax)
    out = {k: np.full(shape, np.nan) for k in ("mean", "low", "high", "raw_low", "raw_high")}
    steps = []
    for i, o in enumerate(origins):
        if i:
            # brought up to the point before the origin, then one tick timed as the daemon
            # has it: a one-point update and a forecast
            model.update(y.iloc[int(origins[i - 1]) + 1 : int(o)])
        t1 = time.process_time()
        if i:
            model.update(y.iloc[int(o) : int(o) + 1])
        fc = model.predict(hmax, BAND)
        steps.append(time.process_time() - t1)
        out["mean"][i], out["low"][i], out["high"][i] = fc.mean, *(fc.quantiles[q] for q in BAND)
        raw = getattr(model, "raw_band", None) or (fc.quantiles[BAND[0]], fc.quantiles[BAND[1]])
        out["raw_low"][i], out["raw_high"][i] = raw
    return Run(
        **out,
        fit_seconds=fit_s,
        step_ms=1000 * float(np.median(steps[1:] or steps)),
        fell_back=bool(getattr(model, "fell_back", False)),
        calibration_log=None if getattr(model, "log", None) is None else list(model.log),
    )


def score(
    values: np.ndarray,
    origins: np.ndarray,
    mean: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    h: int,
    train_window: int,
    day: int,
) -> tuple[float, float]:
    """(MASE over leads 1..h averaged over origins, share of actuals inside the band)."""
    mases, inside = [], []
    for i, o in enumerate(origins):
        actual = values[o + 1 : o + 1 + h]
        scale = mase_scale(values[max(0, o + 1 - train_window) : o + 1], day)
        if not np.isfinite(mean[i, :h]).all():
            return float("nan"), float("nan")
        mases.append(float(np.abs(actual - mean[i, :h]).mean()) / scale)
        inside.extend((actual >= low[i, :h]) & (actual <= high[i, :h]))
    m = [x for x in mases if math.isfinite(x)]
    return (float(np.mean(m)) if m else float("nan")), float(np.mean(inside))


def geomean(xs: Sequence[float]) -> float:
    xs = [x for x in xs if math.isfinite(x) and x > 0]
    return float(np.exp(np.mean(np.log(xs)))) if xs else float("nan")


def loo_pick(
    rel: Mapping[str, Mapping[str, float]], variants: Sequence[str], tie: float = 0.01
) -> tuple[str, dict[str, str]]:
    """The variant with the best geometric-mean score over all series (in-sample), and,
    for each series, the best over the other series only (leave-one-series-out).

    ``rel[series][variant]`` is a score to minimise (MASE relative to naive). Within
    ``tie`` (relative) of the best, the first listed is kept, as ``auto`` keeps the
    simpler of two members: a family lists its default first, then the cheaper
    candidates before the dearer.
    """

    def best(names: Sequence[str]) -> str:
        gm = {v: geomean([rel[s][v] for s in names]) for v in variants}
        finite = [g for g in gm.values() if math.isfinite(g)]
        if not finite:  # no other series (``--only`` one), or none scored: the default
            return variants[0]
        low = min(finite)
        return next(v for v in variants if gm[v] <= low * (1 + tie))

    series = list(rel)
    return best(series), {s: best([t for t in series if t != s]) for s in series}


def loo_pick_coverage(
    cov: Mapping[str, Mapping[str, float]], variants: Sequence[str], target: float = 0.90
) -> tuple[str, dict[str, str]]:
    """As ``loo_pick``, for a setting that moves only the bands: the variant whose mean
    coverage over the series is nearest ``target`` (ties: the first listed)."""

    def best(names: Sequence[str]) -> str:
        def miss(v: str) -> float:
            vals = [cov[s][v] for s in names if math.isfinite(cov[s].get(v, math.nan))]
            return abs(float(np.mean(vals)) - target) if vals else math.inf

        return min(variants, key=miss)

    series = list(cov)
    return best(series), {s: best([t for t in series if t != s]) for s in series}
