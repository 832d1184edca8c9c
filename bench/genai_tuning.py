"""GPU serving: choose ``predictive_target``'s settings and the warm set on the tuning days.

The tuning days are days 0-7 of the trace (5,490 of its 26,823 requests); the benchmark
(``bench/genai_serving.py --start-day 8``) reports on the held-out days 8 onwards. Every
cell is one replay of the pooled layout; ``kpa`` (Knative's defaults, not tuned) is the
baseline of each warm set, measured in the same run. The rule, fixed before looking: the
most SLO goodput per GPU-hour among the cells whose p95 is no worse than kpa's with the
same warm set; if none, the most goodput per GPU-hour (and it is said so).

Usage: python bench/genai_tuning.py [--speedup 20] [--days 0-7] [--warm-sets lru,popular]
       [--targets 0.7,0.85,1.0] [--quantiles 0.5,0.9] [--stabilisation 0s,20s,60s]
       [--spares 0] [--react off] [--tolerances 0.1] [--spare-above 0] [--keep-warm 0s]

``--spares`` (square-root headroom), ``--react`` (scale out on the observed load too:
off, on or off,on) and ``--tolerances`` add predictive_target's options to the grid; their
defaults are the policy's, so without them the grid is the earlier one; so do
``--spare-above`` (no spare on a load of at most that many replicas) and ``--keep-warm``
(a scale-in keeps what the largest sample of that long needs).
"""

from __future__ import annotations

import argparse
import itertools
import time
from datetime import timedelta
from pathlib import Path

from genai_serving import with_predictive_config

from autoscaler.config import (
    Config,
    PredictiveTargetPolicyConfig,
    ServingConfig,
    WarmSetConfig,
    load_config,
)
from autoscaler.serving_simulation import build_serving_scenario, simulate_serving
from autoscaler.simulator.serving.requests import load_latencies, load_requests

REPO = Path(__file__).resolve().parents[1]
WARM_SETS = {
    "lru": WarmSetConfig(kind="lru"),
    "popular": WarmSetConfig(kind="popular", switch_ratio=1000.0),  # victims only
    "popular-rewarm": WarmSetConfig(kind="popular", switch_ratio=2.0),
    "popular-2m": WarmSetConfig(
        kind="popular", half_life=timedelta(minutes=2), switch_ratio=1000.0
    ),
    "popular-1h": WarmSetConfig(kind="popular", half_life=timedelta(hours=1), switch_ratio=1000.0),
}


def with_settings(cfg: Config, warm: WarmSetConfig, pt: PredictiveTargetPolicyConfig) -> Config:
    cfg = with_predictive_config(cfg, pt)
    assert cfg.serving is not None
    return cfg.model_copy(update={"serving": cfg.serving.model_copy(update={"warm_set": warm})})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=REPO / "etc" / "genai-serving.yaml")
    ap.add_argument("--speedup", type=float, default=20.0)
    ap.add_argument("--days", default="0-7", help="first-last day of the tuning window")
    ap.add_argument("--warm-sets", default="lru,popular,popular-rewarm")
    ap.add_argument("--targets", default="0.7,0.85,1.0")
    ap.add_argument("--quantiles", default="0.5,0.9")
    ap.add_argument("--stabilisation", default="0s,20s,60s")
    ap.add_argument("--spares", default="0")
    ap.add_argument("--react", default="off", help="off, on or off,on")
    ap.add_argument("--tolerances", default="0.1")
    ap.add_argument("--spare-above", default="0")
    ap.add_argument("--keep-warm", default="0s")
    args = ap.parse_args()
    first, last = (int(x) for x in args.days.split("-"))
    cfg = load_config(args.config)
    assert cfg.serving is not None
    settings = cfg.serving.model_dump(mode="json")
    settings.update(start_day=first, days=last - first + 1)
    cfg = cfg.model_copy(update={"serving": ServingConfig.model_validate(settings)})
    trace = load_requests(cfg.serving.requests)
    latencies = load_latencies(cfg.serving.load_latencies)
    targets = [float(x) for x in args.targets.split(",")]
    quantiles = [float(x) for x in args.quantiles.split(",")]
    stabs = args.stabilisation.split(",")
    spares = [float(x) for x in args.spares.split(",")]
    reacts = [x == "on" for x in args.react.split(",")]
    tolerances = [float(x) for x in args.tolerances.split(",")]
    aboves = [float(x) for x in args.spare_above.split(",")]
    keeps = args.keep_warm.split(",")
    alone = args.spare_above != "0" or args.keep_warm != "0s"
    print(f"tuning days {first}-{last} at {args.speedup:g}x, pooled")
    print(
        f"{'warm set':<15} {'policy':<48} {'GPU-h':>7} {'good/GPU-h':>10} {'vs kpa':>6} "
        f"{'p95 s':>6} {'cold':>5}"
    )
    t0 = time.perf_counter()
    best: dict[str, tuple[float, str]] = {}
    for wname in args.warm_sets.split(","):
        warm = WARM_SETS[wname]
        base = with_settings(cfg, warm, PredictiveTargetPolicyConfig())
        scn = build_serving_scenario(base, trace, latencies, speedup=args.speedup)
        kpa = simulate_serving(scn, ["kpa"]).summary()["policies"]["kpa"]
        rows = [("kpa", kpa)]
        grid = itertools.product(
            targets, quantiles, stabs, spares, reacts, tolerances, aboves, keeps
        )
        for target, q, stab, spare, react, tol, above, keep in grid:
            pt = PredictiveTargetPolicyConfig.model_validate(
                {
                    "target": target,
                    "quantile": q,
                    "stabilization_down": stab,
                    "spare": spare,
                    "react": react,
                    "tolerance": tol,
                    "spare_above": above,
                    "keep_warm": keep,
                }
            )
            scn = build_serving_scenario(
                with_settings(cfg, warm, pt), trace, latencies, speedup=args.speedup
            )
            d = simulate_serving(scn, ["predictive_target"]).summary()["policies"]
            label = f"pt t={target} q={q} stab={stab}"
            if args.spares != "0" or args.react != "off" or args.tolerances != "0.1" or alone:
                label += f" spare={spare:g} react={'on' if react else 'off'} tol={tol:g}"
            if alone:
                label += f" above={above:g} keep={keep}"
            rows.append((label, d["predictive_target"]))
        for label, d in rows:
            ratio = d["slo_goodput_per_gpu_hour"] / kpa["slo_goodput_per_gpu_hour"]
            p95 = d["latency_seconds"]["p95"]
            print(
                f"{wname:<15} {label:<48} {d['gpu_hours']:>7.1f} "
                f"{d['slo_goodput_per_gpu_hour']:>10.2f} {ratio:>5.2f}x {p95:>6.1f} "
                f"{d['cold_starts']:>5}",
                flush=True,
            )
            if label != "kpa":
                ok = p95 <= kpa["latency_seconds"]["p95"]
                key = "p95 no worse than kpa" if ok else "any p95"
                if ratio > best.get(f"{key}", (0.0, ""))[0]:
                    best[key] = (ratio, f"{wname}: {label}")
    for key, (ratio, label) in best.items():
        print(f"best ({key}): {label} at {ratio:.2f}x kpa")
    print(f"{time.perf_counter() - t0:.0f} s wall")


if __name__ == "__main__":
    main()
