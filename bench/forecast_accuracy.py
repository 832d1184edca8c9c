"""Forecast accuracy on real cloud load, with the protocol of ``autoscaler backtest``.

Series: the NAB realAWSCloudwatch files, NAB realKnownCause/cpu_utilization_asg_misconfiguration
and the NASA HTTP trace (gap filled with the previous value, averaged to 5 minutes). Every
model is refitted at each origin (origins over the last 20% of each series, trailing 7-day
training window) and scored at 15 and 60 minutes from the same fit. Prints MASE per model
and series, then the geometric mean over series of MASE relative to naive (persistence)
and to seasonal naive, and whether the goals hold (best single model <= 0.85 x naive at
both horizons; auto within 3% of the best single model).

    .venv/bin/python bench/forecast_accuracy.py --windows 8 --series 6   # a few minutes
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np

from autoscaler.forecasters.backtest import run_backtest
from autoscaler.forecasters.registry import KNOWN_KINDS, build_forecaster
from autoscaler.traces import TraceError, load_trace

STEP = timedelta(minutes=5)
HORIZONS = {"15m": 3, "60m": 12}
SINGLE = ("naive", "seasonal_naive", "linear", "ets", "arima", "mlp", "lstm")


def series_paths(data: Path) -> list[Path]:
    aws = sorted((data / "nab" / "realAWSCloudwatch").glob("*.csv"))
    return [
        *aws,
        data / "nab" / "realKnownCause" / "cpu_utilization_asg_misconfiguration.csv",
        data / "nasa-http-1995" / "nasa_http_1995_per_minute.csv",
    ]


def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if math.isfinite(x) and x > 0]
    return float(np.exp(np.mean(np.log(xs)))) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    ap.add_argument("--models", default=",".join(KNOWN_KINDS))
    ap.add_argument("--windows", type=int, default=12, help="origins per series (default 12)")
    ap.add_argument(
        "--series",
        type=int,
        default=0,
        help="use every k-th AWS series to get about this many (0: all)",
    )
    ap.add_argument(
        "--train-window", type=int, default=2016, help="training points (default 7 days)"
    )
    args = ap.parse_args()
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    for base in ("naive", "seasonal_naive"):
        if base not in kinds:
            kinds.insert(0, base)
    paths = series_paths(args.data)
    if args.series:
        aws, rest = paths[:-2], paths[-2:]
        stride = max(1, math.ceil(len(aws) / max(1, args.series - len(rest))))
        paths = aws[::stride] + rest

    mase: dict[str, dict[str, dict[int, float]]] = {}
    fit_s: dict[str, list[float]] = {k: [] for k in kinds}
    started = time.perf_counter()
    print(f"models: {', '.join(kinds)}; {args.windows} origins per series; horizons 15m, 60m")
    for path in paths:
        try:
            trace = load_trace(path, fill="previous", resample=STEP)
        except TraceError as exc:
            print(f"skip {path.name}: {exc}")
            continue
        factories = {k: partial(build_forecaster, k, STEP, fallback=True) for k in kinds}
        t0 = time.perf_counter()
        res = run_backtest(
            trace.series,
            STEP,
            factories,
            list(HORIZONS.values()),
            windows=args.windows,
            train_window=args.train_window,
        )
        mase[path.stem] = {k: {h: res.scores[h][k].mase for h in HORIZONS.values()} for k in kinds}
        for k in kinds:
            fit_s[k].append(res.scores[3][k].fit_seconds)
        cells = "  ".join(
            f"{k}={mase[path.stem][k][3]:.3f}/{mase[path.stem][k][12]:.3f}" for k in kinds
        )
        print(
            f"{path.stem[:40]:<40} {time.perf_counter() - t0:6.1f}s  MASE 15m/60m: {cells}",
            flush=True,
        )

    if not mase:
        print("no series could be loaded", file=sys.stderr)
        return 1
    print(
        f"\n{len(mase)} series, {time.perf_counter() - started:.0f}s (machine shared: timings are loose)"
    )
    print(
        f"{'model':<16}"
        + "".join(f"{'vs naive ' + n:>16}{'vs snaive ' + n:>17}" for n in HORIZONS)
        + f"{'mean fit s':>12}"
    )
    ratio: dict[str, dict[int, float]] = {}
    for k in kinds:
        ratio[k] = {}
        row = f"{k:<16}"
        for h in HORIZONS.values():
            rn = geomean([m[k][h] / m["naive"][h] for m in mase.values()])
            rs = geomean([m[k][h] / m["seasonal_naive"][h] for m in mase.values()])
            ratio[k][h] = rn
            row += f"{rn:>16.3f}{rs:>17.3f}"
        print(row + f"{np.mean(fit_s[k]):>12.3f}")

    singles = [k for k in kinds if k in SINGLE and k != "naive"]
    if singles:
        for name, h in HORIZONS.items():
            best = min(singles, key=lambda k: ratio[k][h])
            verdict = "met" if ratio[best][h] <= 0.85 else "NOT met"
            line = (
                f"{name}: best single {best} {ratio[best][h]:.3f} x naive (goal <= 0.85: {verdict})"
            )
            if "auto" in ratio:
                rel = ratio["auto"][h] / ratio[best][h]
                line += f"; auto {ratio['auto'][h]:.3f} = {rel:.3f} x best (goal <= 1.03: {'met' if rel <= 1.03 else 'NOT met'})"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
