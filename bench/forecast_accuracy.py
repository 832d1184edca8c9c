"""Forecast accuracy side by side with statsforecast, on a corpus no default was tuned on.

Corpus and groups: ``forecast_corpus``. Protocol: ``forecast_scoring`` (``--origins``
origins over the last 20% of each series, one fit on the trailing 7 days at the
first, ``update`` to the others). Every model we ship is scored (``level``, the
daemon's default, included), with the fallback and calibrated (conformal) bands;
statsforecast's AutoARIMA, AutoETS, AutoTheta and MSTL run in .venv-statsforecast on
the same series and origins (``forecast_statsforecast``; arrays exchanged through
.npz files; cached per series by the hash of its values and origins).

Honest selection: where a default has candidates (the level model's ``alpha``;
whether ARIMA and ETS may model a season at all; whether ETS may use multiplicative
errors; whether ARIMA polishes its estimates by maximum likelihood, over which order grid
and for how many iterations; how ETS sets its initial states; how much a daily profile
must help to be kept; whether theta models a daily season), the figure for a
series comes from the candidate that did best on the other series
(leave-one-series-out, LOO); the in-sample figure takes the best candidate over all
series. Both are printed. ``auto``'s candidate settings are the memory of its
rolling validation (a half-life of 24 or 72 checkpoints), its break check, its
per-horizon choice (``split``), the leads and days it validates on, and a theta member;
its members and the rest of
its settings are fixed by reasoning (``forecasters/ensemble.py``). "upd+pred ms" is one tick as the daemon has it:
a one-point ``update`` and a ``predict``, timed at each origin.

Prints, per series and horizon (15 min, 1 h), MASE relative to naive of ours (LOO)
and theirs and the ratios; per group (CPU-like, request-like, all) the geometric mean
of MASE relative to naive, 90% coverage, median fit seconds and update+predict ms per
model; then the goals. Our runs are cached per series and model under ``--cache``:
pass ``--fresh`` after changing a model.

    make .venv-statsforecast
    nice .venv/bin/python bench/forecast_accuracy.py --quick     # iterating: 8 series
    nice .venv/bin/python bench/forecast_accuracy.py             # the reported figures
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from autoscaler.cli import single_thread_blas

# The models run with one BLAS thread, as the daemon has them (``autoscaler.cli.main``
# sets it before numpy loads): a multi-threaded BLAS spins its threads on the models'
# small products (L-BFGS-B's, STL's, the ARIMA regressions'), and that CPU counted in
# the fit times: auto's fit took 1.7x the CPU on 2 busy cores; the forecasts are the
# same to the last bit (docs/forecast-accuracy.md).
single_thread_blas(os.environ)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forecast_calibration import print_calibration, rebanded  # noqa: E402
from forecast_corpus import GROUPS, STEP, CorpusSeries, load_corpus  # noqa: E402
from forecast_report import print_report  # noqa: E402
from forecast_scoring import Run, plan_origins, run_model  # noqa: E402
from forecast_variants import (  # noqa: E402
    FAMILIES,
    NOT_BY_DEFAULT,
    QUICK_MODELS,
    QUICK_SERIES,
    VARIANTS,
    WIDTHS,
)

from autoscaler.forecasters.registry import build_forecaster  # noqa: E402
from autoscaler.registry import default_calibration  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HMAX, TRAIN_WINDOW, DAY = 12, 2016, 288


def our_runs(
    s: CorpusSeries,
    origins: np.ndarray,
    names: list[str],
    cache: Path,
    fresh: bool,
    since: float = float("inf"),
):
    """Our variants on one series, from the cache where the same origins were run."""
    key = hashlib.sha256(np.asarray(origins).tobytes() + s.values.tobytes()).hexdigest()[:12]
    runs: dict[str, Run] = {}
    y = s.series()
    for name in names:
        path = cache / f"{s.name}__{name.replace(' ', '_')}__{key}.pkl"
        if path.exists() and (not fresh or path.stat().st_mtime > since):
            # the bands as this code's calibration makes them (the same when it ran it)
            run = pickle.loads(path.read_bytes())
            try:
                runs[name] = rebanded(run)
            except ValueError:  # its log lacks what the calibration needs: bands as run
                print(f"  {s.name} {name}: bands as cached (log too old)", file=sys.stderr)
                runs[name] = run
            continue
        kind, params = VARIANTS[name]
        params = dict(params)
        cal = params.pop("calibrated", default_calibration(kind))  # as the daemon has it
        # a calibrated model logs its scores: its bands under another calibration (or
        # after the calibration's code changed) are replayed from them (rebanded below)
        log = {"conformal": {"log": []}} if cal else {}
        make = partial(build_forecaster, kind, STEP, fallback=True, calibrated=cal, **log, **params)
        t0 = time.perf_counter()
        runs[name] = run_model(make, y, origins, HMAX, TRAIN_WINDOW)
        print(f"  {s.name} {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        path.write_bytes(pickle.dumps(runs[name]))
    return runs


def _their_key(s: CorpusSeries, o: np.ndarray) -> str:
    digest = hashlib.sha256(s.name.encode())
    for a in (
        s.values[: int(o[-1]) + 1 + HMAX],
        np.asarray(o),
        np.array([HMAX, TRAIN_WINDOW, DAY]),
    ):
        digest.update(np.asarray(a).tobytes())
    return digest.hexdigest()[:16]


def their_runs(
    corpus: list[CorpusSeries],
    origins: list[np.ndarray],
    cache: Path,
    python: Path,
    jobs: int = 1,
):
    """statsforecast's forecasts (dict of arrays, series first), or None when its venv is
    missing. Cached per series (by its values and origins), so a subset reuses a full run
    and a stopped run keeps what it finished; ``jobs`` processes share the missing series."""
    paths = [
        cache / f"sf_{s.name}_{_their_key(s, o)}.npz" for s, o in zip(corpus, origins, strict=True)
    ]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    if todo and not python.exists():
        print(f"statsforecast skipped: {python} missing (make .venv-statsforecast)")
        return None
    script = Path(__file__).resolve().parent / "forecast_statsforecast.py"
    procs, t0 = [], time.perf_counter()
    for k in range(min(max(1, jobs), len(todo))):
        part = todo[k :: max(1, jobs)]
        arrays = {
            "names": np.array([corpus[i].name for i in part]),
            "outputs": np.array([str(paths[i]) for i in part]),
            "origins": np.array([origins[i] for i in part]),
            "horizon": HMAX,
            "train_window": TRAIN_WINDOW,
            "day": DAY,
        }
        for j, i in enumerate(part):
            arrays[f"values_{j}"] = corpus[i].values[: int(origins[i][-1]) + 1 + HMAX]
        inp = cache / f"sf_input_{k}.npz"
        np.savez(inp, **arrays)
        procs.append(subprocess.Popen([str(python), str(script), "--input", str(inp)]))
    if any(p.wait() != 0 for p in procs):
        raise RuntimeError("statsforecast failed (see its messages above)")
    if procs:
        print(f"statsforecast ran in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    parts = [np.load(p) for p in paths]
    out = {k: np.stack([r[k] for r in parts]) for k in ("mean", "low", "high", "fit_seconds")}
    out["models"] = parts[0]["models"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--origins", type=int, default=40, help="origins per series (default 40)")
    ap.add_argument("--only", default="", help="comma-separated name prefixes (a subset)")
    ap.add_argument("--models", default="", help="our variants to run (default: all)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="8 series and one variant per model, for iterating (--only/--models override)",
    )
    ap.add_argument("--cache", type=Path, default=ROOT / "out" / "forecast-bench")
    ap.add_argument("--fresh", action="store_true", help="rerun ours even where cached")
    ap.add_argument(
        "--fresh-since",
        type=float,
        default=float("inf"),
        help="with --fresh, keep cached runs written after this time (epoch seconds)",
    )
    ap.add_argument("--no-statsforecast", action="store_true", help="ours only (fills the cache)")
    ap.add_argument(
        "--calibration",
        action="store_true",
        help="also compare the conformal calibration's candidates (forecast_calibration)",
    )
    ap.add_argument(
        "--statsforecast-cached-only",
        action="store_true",
        help="only the series whose statsforecast results are cached (runs none)",
    )
    ap.add_argument(
        "--statsforecast-jobs", type=int, default=1, help="statsforecast processes (default 1)"
    )
    ap.add_argument(
        "--statsforecast-python", type=Path, default=ROOT / ".venv-statsforecast" / "bin" / "python"
    )
    args = ap.parse_args()
    if not args.models:
        default = [v for v in VARIANTS if v not in NOT_BY_DEFAULT]
        args.models = ",".join(QUICK_MODELS if args.quick else default)
    if args.quick and not args.only:
        args.only = ",".join(QUICK_SERIES)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in VARIANTS]
    if unknown:
        print(
            f"--models: unknown {', '.join(unknown)} (known: {', '.join(VARIANTS)})",
            file=sys.stderr,
        )
        return 2
    if "naive" not in names:
        names.insert(0, "naive")
    corpus = load_corpus(args.data)
    if args.only:
        prefixes = tuple(p.strip() for p in args.only.split(",") if p.strip())
        corpus = [s for s in corpus if s.name.startswith(prefixes)]
    if not corpus:
        print("--only: no series matches", file=sys.stderr)
        return 2
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    origins = [plan_origins(len(s.values), args.origins, HMAX) for s in corpus]
    if len({len(o) for o in origins}) != 1:
        print("series too short for that many distinct origins", file=sys.stderr)
        return 2
    if args.statsforecast_cached_only:
        # the series statsforecast has finished (a run still going, or stopped): ours and
        # theirs on the same series only
        keep = [
            i
            for i, (s, o) in enumerate(zip(corpus, origins, strict=True))
            if (args.cache / f"sf_{s.name}_{_their_key(s, o)}.npz").exists()
        ]
        print(f"statsforecast has {len(keep)} of {len(corpus)} series; the others are left out")
        if not keep:
            return 2
        corpus, origins = [corpus[i] for i in keep], [origins[i] for i in keep]
    theirs = (
        None
        if args.no_statsforecast
        else their_runs(
            corpus, origins, args.cache, args.statsforecast_python, args.statsforecast_jobs
        )
    )
    ours = {}
    for s, o in zip(corpus, origins, strict=True):
        ours[s.name] = our_runs(s, o, names, args.cache, args.fresh, args.fresh_since)
    print(
        f"{len(corpus)} series ({', '.join(f'{sum(s.group == g for s in corpus)} {g}' for g in GROUPS)}), "
        f"{args.origins} origins each, one fit per series and model on {TRAIN_WINDOW} points; "
        f"{time.perf_counter() - started:.0f}s (2 shared cores: timings are loose)"
    )
    fams = {f: tuple(v for v in vs if v in names) for f, vs in FAMILIES.items()}
    widths = {f: tuple(v for v in vs if v in names) for f, vs in WIDTHS.items()}
    print_report(
        corpus,
        origins,
        ours,
        theirs,
        {f: v for f, v in fams.items() if v},
        TRAIN_WINDOW,
        DAY,
        {f: v for f, v in widths.items() if len(v) > 1},
    )
    if args.calibration:
        # the shipped models only: a default's candidates (compared by MASE) do not
        # choose the calibration the defaults ship with
        others = {v for fam in (FAMILIES, WIDTHS) for f, vs in fam.items() for v in vs if v != f}
        shipped = {
            s: {m: r for m, r in runs.items() if m not in others} for s, runs in ours.items()
        }
        print_calibration(corpus, origins, shipped, TRAIN_WINDOW, DAY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
