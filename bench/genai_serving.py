"""GPU serving: every policy on the whole Alibaba GenAI trace at arrival speedups 1x, 5x, 20x.

Goal (issue 18): ``qos`` or ``predictive_target`` at >= 1.3x the SLO goodput per GPU-hour of
``kpa`` at an equal or better p95, using <= 1.3x the oracle's GPU-hours; and >= 50,000
simulated requests per wall second. Baselines measured in the same run: ``kpa`` and the
oracle for the ratios, and for speed the bare event core (the same cluster and requests
with a fixed fleet and no engine), i.e. the floor of the replay's cost.

Usage: python bench/genai_serving.py [--config etc/genai-serving.yaml] [--speedups 1,5,20]
       [--policies kpa,target,...] [--start-day N] [--days N] [--layout L] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from autoscaler.config import Config, PredictiveTargetPolicyConfig, ServingConfig, load_config
from autoscaler.model import ScaleAction
from autoscaler.serving_simulation import (
    DEFAULT_SERVING_POLICIES,
    ServingResult,
    ServingScenario,
    build_serving_scenario,
    run_serving_policy,
    simulate_serving,
)
from autoscaler.simulator.serving.report import busiest_day, format_table, plot_day
from autoscaler.simulator.serving.requests import load_latencies, load_requests

REPO = Path(__file__).resolve().parents[1]
GOODPUT_RATIO, ORACLE_RATIO, SPEED = 1.3, 1.3, 50_000.0


def event_core_rate(scn: ServingScenario, replicas: int = 4) -> tuple[float, float]:
    """Requests per wall second and per CPU second of the cluster alone: ``replicas``
    per group from the start, every request replayed, no engine."""
    c = scn.new_cluster()
    for name in scn.group_names:
        c.scale(ScaleAction(name, f"{name}-0", c.start, 0, replicas, "bench"))
    t0, cpu0 = time.perf_counter(), time.process_time()
    c.advance(scn.horizon)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return len(scn.trace) / wall, len(scn.trace) / max(cpu, 1e-9)


def run_each(scn: ServingScenario, names: list[str]) -> ServingResult:
    """Every policy, the oracle first, each row printed as soon as it is done."""
    runs = {}
    hours = None
    for name in sorted(names, key=lambda n: n != "oracle"):
        cpu0 = time.process_time()
        runs[name] = run_serving_policy(scn, name)
        if name == "oracle":
            hours = runs[name].cluster.gpu_seconds() / 3600
        row = runs[name].summary(scn.serving.slo.total_seconds(), hours)
        print(format_table({name: row}).splitlines()[1], flush=True)
        print(
            f"    ({time.process_time() - cpu0:.0f} s CPU, {runs[name].ticks:,} ticks)", flush=True
        )
    return ServingResult(scn, {n: runs[n] for n in names})


def with_predictive(cfg: Config, setting: str) -> Config:
    """``cfg`` with predictive_target's (target, quantile, stabilisation) = ``T:Q:S``."""
    target, quantile, stab = setting.split(":")
    pt = PredictiveTargetPolicyConfig.model_validate(
        {"target": float(target), "quantile": float(quantile), "stabilization_down": stab}
    )
    group = cfg.groups[0]
    policies = [p for p in group.policies if p.kind != "predictive_target"] + [pt]
    groups = [group.model_copy(update={"policies": policies}), *cfg.groups[1:]]
    return cfg.model_copy(update={"groups": groups})


def goal_lines(policies: dict) -> list[str]:
    kpa, oracle = policies.get("kpa"), policies.get("oracle")
    out = []
    for name, d in policies.items():
        if not name.startswith(("predictive_target", "qos")) or kpa is None or oracle is None:
            continue
        ratio = d["slo_goodput_per_gpu_hour"] / kpa["slo_goodput_per_gpu_hour"]
        p95_ok = d["latency_seconds"]["p95"] <= kpa["latency_seconds"]["p95"]
        vs_oracle = d["gpu_hours"] / oracle["gpu_hours"]
        met = ratio >= GOODPUT_RATIO and p95_ok and vs_oracle <= ORACLE_RATIO
        out.append(
            f"  {name}: goodput/GPU-h {ratio:.2f}x kpa (goal >= {GOODPUT_RATIO}), p95 "
            f"{d['latency_seconds']['p95']:.1f} s vs kpa {kpa['latency_seconds']['p95']:.1f} s "
            f"({'ok' if p95_ok else 'worse'}), GPU-h {vs_oracle:.2f}x oracle "
            f"(goal <= {ORACLE_RATIO}): {'MET' if met else 'missed'}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=REPO / "etc" / "genai-serving.yaml")
    ap.add_argument("--speedups", default="1,5,20")
    ap.add_argument("--policies", default=",".join(DEFAULT_SERVING_POLICIES))
    ap.add_argument("--start-day", type=int, default=None)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--layout", default=None, choices=("per_model", "pooled", "hybrid"))
    ap.add_argument(
        "--extra-predictive",
        default=None,
        help="also run predictive_target at T:Q:S (target:quantile:stabilisation), a row of its own",
    )
    ap.add_argument("--out", type=Path, default=None, help="summary and day plot per speedup")
    args = ap.parse_args()
    cfg = load_config(args.config)
    assert cfg.serving is not None, f"{args.config} has no serving: section"
    settings = cfg.serving.model_dump(mode="json")
    for key in ("start_day", "days", "layout"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    cfg = cfg.model_copy(update={"serving": ServingConfig.model_validate(settings)})
    trace = load_requests(cfg.serving.requests)
    latencies = load_latencies(cfg.serving.load_latencies)
    names = args.policies.split(",")
    for speedup in (float(s) for s in args.speedups.split(",")):
        scn = build_serving_scenario(cfg, trace, latencies, speedup=speedup)
        core, core_cpu = event_core_rate(scn)
        cpu0 = time.process_time()
        result = run_each(scn, names)
        summary = result.summary()
        pols = summary["policies"]
        if args.extra_predictive:
            alt = build_serving_scenario(
                with_predictive(cfg, args.extra_predictive), trace, latencies, speedup=speedup
            )
            run = simulate_serving(alt, ["predictive_target"]).runs["predictive_target"]
            oracle = result.runs.get("oracle")
            hours = oracle.cluster.gpu_seconds() / 3600 if oracle is not None else None
            pols[f"predictive_target@{args.extra_predictive}"] = run.summary(
                scn.serving.slo.total_seconds(), hours
            )
        cpu = time.process_time() - cpu0
        print(
            f"\n== arrival speedup {speedup:g}x: {len(scn.trace):,} requests over "
            f"{summary['trace']['span_seconds'] / 3600:.1f} h, {len(scn.group_names)} groups "
            f"({cfg.serving.layout}), days {cfg.serving.start_day}.."
            f"{'end' if cfg.serving.days is None else cfg.serving.start_day + cfg.serving.days - 1}"
        )
        print(format_table(pols))
        for line in goal_lines(pols):
            print(line)
        total_wall = sum(d["wall_seconds"] for d in pols.values())
        print(
            f"  speed: event core {core:,.0f} requests/wall s ({core_cpu:,.0f}/CPU s); "
            "through the engine "
            + ", ".join(f"{n} {d['requests_per_wall_second']:,.0f}" for n, d in pols.items())
            + f" requests/wall s ({sum(d['engine_ticks'] for d in pols.values()):,} ticks, "
            f"{total_wall:.0f} s wall, {cpu:.0f} s CPU: {len(pols) * len(scn.trace) / cpu:,.0f} "
            f"requests/CPU s); goal >= {SPEED:,.0f}"
        )
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            tag = f"{speedup:g}x"
            (args.out / f"summary-{tag}.json").write_text(json.dumps(summary, indent=2) + "\n")
            day = busiest_day(scn.trace.arrival)
            plot_day(
                args.out / f"serving-day-{tag}.png",
                day,
                scn.trace.arrival,
                {n: (r.cluster.replica_log, r.latency) for n, r in result.runs.items()},
                scn.serving.slo.total_seconds(),
                f"GenAI serving at {tag}, {cfg.serving.layout} layout: day {day} of the replay",
            )


if __name__ == "__main__":
    main()
