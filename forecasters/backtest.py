"""Rolling-origin evaluation of forecasters on one series.

Protocol (the one ``autoscaler backtest`` and the accuracy benchmark use): origins
are spread evenly over the last 20% of the series, at most ``windows`` of them; at
each origin a fresh model is fitted on a trailing window of at most ``train_window``
points ending at the origin and forecasts the next ``horizon`` steps. Several
horizons can be scored from one fit (the origins are then placed for the longest).

Metrics per model, averaged over origins:

* ``mase``: MAE divided by the in-sample mean absolute seasonal difference of the
  training window (season = one day in steps; lag 1 when the window is shorter
  than a day and a point),
* ``smape`` in percent (a step where actual and forecast are both 0 counts as 0),
* ``mae``, ``coverage_90``: share of actuals inside the 5%-95% band,
* ``fit_seconds`` and ``predict_seconds``: mean wall time per fit and per predict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.series_input import clean_series, steps_per_day
from autoscaler.model import ForecastError

BAND = (0.05, 0.95)
METRICS = ("mase", "smape", "mae", "coverage_90", "fit_seconds", "predict_seconds")


@dataclass(frozen=True)
class ModelScore:
    """Averages over origins; ``fallbacks`` counts origins where the model fell back."""

    mase: float
    smape: float
    mae: float
    coverage_90: float
    fit_seconds: float
    predict_seconds: float
    origins: int
    fallbacks: int = 0

    def as_dict(self) -> dict[str, float]:
        return {m: float(getattr(self, m)) for m in METRICS}


@dataclass(frozen=True)
class BacktestResult:
    """``scores[horizon][model]``; ``origins`` are the timestamps of the last training points."""

    scores: dict[int, dict[str, ModelScore]]
    origins: tuple[pd.Timestamp, ...]
    train_points: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def origin_positions(n: int, horizon: int, windows: int, min_train: int = 2) -> np.ndarray:
    """Positions (index of the last training point) spread over the last 20% of ``n`` points.

    Raises ``ForecastError`` when the series is too short for even one origin.
    """
    if windows < 1:
        raise ForecastError(f"windows must be at least 1, not {windows}")
    first = max(int(n * 0.8) - 1, min_train - 1)
    last = n - horizon - 1
    if last < first:
        raise ForecastError(
            f"series of {n} points is too short to backtest a {horizon}-step horizon"
        )
    return np.unique(np.linspace(first, last, min(windows, last - first + 1)).round().astype(int))


def mase_scale(train: np.ndarray, season: int) -> float:
    """Mean absolute seasonal difference of ``train`` (lag 1 if shorter than a season + 1)."""
    lag = season if len(train) > season else 1
    d = np.abs(train[lag:] - train[:-lag])
    scale = float(d.mean()) if d.size else 0.0
    return scale if scale > 0 else float("nan")


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    denom = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        2 * np.abs(actual - forecast), denom, out=np.zeros_like(denom), where=denom > 0
    )
    return float(100 * ratio.mean())


def run_backtest(
    y: pd.Series,
    step: timedelta,
    factories: Mapping[str, Callable[[], Any]],
    horizons: Sequence[int],
    *,
    windows: int = 20,
    train_window: int = 2016,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Evaluate each model of ``factories`` (name -> new unfitted forecaster) on ``y``.

    ``progress`` is called with 1 after each (origin, model) fit. Raises
    ``ForecastError`` when ``y`` is too short; a model failing at an origin is counted
    as a fallback when it is wrapped in ``FallbackForecaster``, else it propagates.
    """
    clean = clean_series(y, step)
    values = clean.values
    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1:
        raise ForecastError(f"horizons must be positive, not {horizons}")
    hmax = horizons[-1]
    origins = origin_positions(len(values), hmax, windows)
    index = pd.date_range(clean.start, periods=len(values), freq=step)
    series = pd.Series(values, index=index)
    season = steps_per_day(step)
    notes = [f"filled {clean.filled} missing point(s)"] if clean.filled else []

    per: dict[str, dict[int, list[tuple[float, float, float, float]]]] = {
        m: {h: [] for h in horizons} for m in factories
    }
    timing: dict[str, list[tuple[float, float, bool]]] = {m: [] for m in factories}
    for o in origins:
        lo = max(0, o + 1 - train_window)
        train = series.iloc[lo : o + 1]
        scale = mase_scale(values[lo : o + 1], season)
        actual = values[o + 1 : o + 1 + hmax]
        for name, make in factories.items():
            model = make()
            t0 = time.perf_counter()
            model.fit(train)
            t1 = time.perf_counter()
            fc = model.predict(hmax, BAND)
            t2 = time.perf_counter()
            timing[name].append((t1 - t0, t2 - t1, bool(getattr(model, "fell_back", False))))
            lo_band, hi_band = fc.quantiles[BAND[0]], fc.quantiles[BAND[1]]
            for h in horizons:
                a, f = actual[:h], fc.mean[:h]
                mae = float(np.abs(a - f).mean())
                inside = float(((a >= lo_band[:h]) & (a <= hi_band[:h])).mean())
                per[name][h].append((mae / scale, smape(a, f), mae, inside))
            if progress is not None:
                progress(1)

    scores: dict[int, dict[str, ModelScore]] = {h: {} for h in horizons}
    for name in factories:
        fits = np.array([t[0] for t in timing[name]])
        preds = np.array([t[1] for t in timing[name]])
        fallbacks = sum(t[2] for t in timing[name])
        for h in horizons:
            arr = np.array(per[name][h])
            scores[h][name] = ModelScore(
                mase=float(np.nanmean(arr[:, 0])) if np.isfinite(arr[:, 0]).any() else float("nan"),
                smape=float(arr[:, 1].mean()),
                mae=float(arr[:, 2].mean()),
                coverage_90=float(arr[:, 3].mean()),
                fit_seconds=float(fits.mean()),
                predict_seconds=float(preds.mean()),
                origins=len(arr),
                fallbacks=int(fallbacks),
            )
    return BacktestResult(scores, tuple(index[origins]), train_window, tuple(notes))
