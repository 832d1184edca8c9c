"""statsforecast's side of bench/forecast_accuracy.py, run in .venv-statsforecast.

Reads the series, origins and output paths the benchmark wrote (``--input``, an .npz), and for each
series fits AutoARIMA, AutoETS, AutoTheta and MSTL (AutoARIMA trend) once, at the first
origin, on the same trailing window as ours; at the later origins the fitted model is
applied to the longer history with ``forward`` (no refit), as ours are brought forward
with ``update``. Writes means and 90% bands per model, series, origin and lead, with fit
times, to ``--output`` (.npz). Needs only numpy and statsforecast: nothing of ours.

Seasons: a day (288 steps) for AutoTheta and MSTL, which test or decompose it
themselves; AutoARIMA and AutoETS are non-seasonal here (statsforecast's ETS takes
seasons of at most 24, and a 288-step seasonal ARIMA takes minutes a fit), the way the
library's own guide handles long seasons: by MSTL.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

MODELS = ("AutoARIMA", "AutoETS", "AutoTheta", "MSTL")


def make(name: str, day: int, n: int):
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

    seasonal = n >= 2 * day + 1
    if name == "AutoARIMA":
        return AutoARIMA(season_length=1)
    if name == "AutoETS":
        return AutoETS(season_length=1)
    if name == "AutoTheta":
        return AutoTheta(season_length=day if seasonal else 1)
    if seasonal:
        return MSTL(season_length=day, trend_forecaster=AutoARIMA(season_length=1))
    return AutoARIMA(season_length=1)  # under two days of history MSTL cannot decompose


def forecast(model, fitted: bool, y: np.ndarray, h: int):
    out = model.predict(h=h, level=[90]) if fitted else model.forward(y=y, h=h, level=[90])
    return out["mean"], out["lo-90"], out["hi-90"]


def run_one(name: str, values: np.ndarray, origins: np.ndarray, window: int, h: int, day: int):
    lo = max(0, int(origins[0]) + 1 - window)
    model = make(name, day, int(origins[0]) + 1 - lo)
    mean = np.full((len(origins), h), np.nan)
    low, high = mean.copy(), mean.copy()
    t0 = time.process_time()
    model.fit(values[lo : int(origins[0]) + 1])
    fit_s = time.process_time() - t0
    for i, o in enumerate(origins):
        m, a, b = forecast(model, i == 0, values[lo : int(o) + 1], h)
        mean[i], low[i], high[i] = m, a, b
    return mean, low, high, fit_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--input", required=True)
    args = ap.parse_args()
    data = np.load(args.input)
    names = [str(s) for s in data["names"]]
    outputs = [str(s) for s in data["outputs"]]
    h, window, day = int(data["horizon"]), int(data["train_window"]), int(data["day"])
    k = int(data["origins"].shape[1])
    warnings.simplefilter("ignore")
    for i, name in enumerate(names):
        values, origins = data[f"values_{i}"], data["origins"][i]
        shape = (len(MODELS), k, h)
        mean, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
        fit_s = np.full(len(MODELS), np.nan)
        for j, model in enumerate(MODELS):
            try:
                mean[j], low[j], high[j], fit_s[j] = run_one(model, values, origins, window, h, day)
            except Exception as exc:  # a failed fit is reported, the rest still run
                print(f"{name} {model}: {type(exc).__name__}: {exc}", file=sys.stderr)
        # each series is written as it is done (atomically): a stopped run keeps them
        tmp = Path(outputs[i]).with_suffix(".part.npz")
        np.savez(tmp, mean=mean, low=low, high=high, fit_seconds=fit_s, models=list(MODELS))
        tmp.replace(outputs[i])
        print(f"statsforecast {i + 1}/{len(names)} {name}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
