"""ARIMA at 1-minute steps: parameters estimated on the last ``arma_window`` points of a
7-day window, against all 10,080 of them (the baseline, measured in the same run).

The daemon's retraining fits ARIMA on ``train_window`` (7 days): at 1-minute steps that
is 10,080 points, and a fit on all of them costs seconds per group. ``ARMA_WINDOW``
(in ``forecasters/arima.py``) was chosen on the NAB CPU-like 5-minute series of
``bench/forecast_accuracy.py``; this checks it on a series it was not chosen on: the
NASA HTTP trace at its own 1-minute resolution. Protocol as in ``forecast_scoring``:
``--origins`` origins over the last 20% of the series, one fit at the first, ``update``
to the others; MASE relative to naive at 15 and 60 minutes, and CPU seconds per fit.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python bench/arma_window.py [--origins 8]
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forecast_scoring import geomean, plan_origins, run_model, score

from autoscaler.forecasters.arima import ARMA_WINDOW
from autoscaler.forecasters.registry import build_forecaster
from autoscaler.traces import load_trace

ROOT = Path(__file__).resolve().parents[1]
NASA = ROOT.parent / "shared" / "data" / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
STEP = timedelta(minutes=1)
WINDOW, DAY, HMAX = 7 * 1440, 1440, 60


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--origins", type=int, default=8)
    ap.add_argument("--starts", type=int, default=3, help="series cut at this many points")
    a = ap.parse_args()
    full = load_trace(str(NASA), fill="previous").series
    # several cuts of the trace (each ends at a different part of it), the same origins
    cuts = [full.iloc[: len(full) - k * 9000] for k in range(a.starts)]
    variants = {"all 10080 (baseline)": None, f"last {ARMA_WINDOW}": ARMA_WINDOW}
    rows = {name: {"15m": [], "1h": [], "fit": []} for name in ["naive", *variants]}
    for y in cuts:
        values = y.to_numpy(dtype=float)
        origins = plan_origins(len(values), a.origins, HMAX)
        runs = {
            "naive": run_model(partial(build_forecaster, "naive", STEP), y, origins, HMAX, WINDOW)
        }
        for name, window in variants.items():
            make = partial(
                build_forecaster, "arima", STEP, fallback=True, calibrated=True, arma_window=window
            )
            runs[name] = run_model(make, y, origins, HMAX, WINDOW)
        base = {
            h: score(
                values,
                origins,
                runs["naive"].mean,
                runs["naive"].low,
                runs["naive"].high,
                n,
                WINDOW,
                DAY,
            )[0]
            for h, n in (("15m", 15), ("1h", 60))
        }
        for name, r in runs.items():
            for h, n in (("15m", 15), ("1h", 60)):
                m = score(values, origins, r.mean, r.low, r.high, n, WINDOW, DAY)[0]
                rows[name][h].append(m / base[h])
            rows[name]["fit"].append(r.fit_seconds)
    print(f"NASA HTTP, 1-minute steps, {a.starts} cuts x {a.origins} origins, fit on 7 days")
    print("| ARIMA parameters on | MASE/naive 15m | 1h | fit CPU s | vs baseline: 15m | 1h | fit |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ref = rows["all 10080 (baseline)"]
    for name, r in rows.items():
        g15, g1h, fit = geomean(r["15m"]), geomean(r["1h"]), sum(r["fit"]) / len(r["fit"])
        b15, b1h, bfit = geomean(ref["15m"]), geomean(ref["1h"]), sum(ref["fit"]) / len(ref["fit"])
        print(
            f"| {name} | {g15:.3f} | {g1h:.3f} | {fit:.2f} | {g15 / b15:.3f} | "
            f"{g1h / b1h:.3f} | {fit / bfit:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
