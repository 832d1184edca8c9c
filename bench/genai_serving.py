"""GPU serving: every policy on the whole Alibaba GenAI trace at arrival speedups 1x, 5x, 20x.

Goal (issue 18): ``qos`` or ``predictive_target`` at >= 1.3x the SLO goodput per GPU-hour of
``kpa`` at an equal or better p95, using <= 1.3x the oracle's GPU-hours; and >= 50,000
simulated requests per wall second. Baselines measured in the same run: ``kpa`` and the
oracle for the ratios, and for speed the bare event core (the same cluster and requests
with a fixed fleet and no engine), i.e. the floor of the replay's cost.

Every (speedup, policy) replay is independent; ``--jobs N`` runs N of them at once in
worker processes (same seed, same summaries as one at a time). The speed figures are per
replay (requests / its own wall and CPU seconds) and for the whole run (requests replayed /
the run's wall seconds).

Usage: python bench/genai_serving.py [--config etc/genai-serving.yaml] [--speedups 1,5,20]
       [--policies kpa,target,...] [--start-day N] [--days N] [--layout L] [--out DIR]
       [--extra-predictive T:Q:S[:SPARE:REACT:TOL[:ABOVE:KEEP]][,...]]
       [--extra-qos NAME=VALUE[+...][,...]] [--jobs N] [--serving KEY=JSON ...] [--profile POLICY]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from autoscaler.config import (
    Config,
    PolicyConfig,
    PredictiveTargetPolicyConfig,
    QosPolicyConfig,
    ServingConfig,
    load_config,
)
from autoscaler.config.policy_checks import policy_problem
from autoscaler.model import ScaleAction
from autoscaler.serving_simulation import (
    DEFAULT_SERVING_POLICIES,
    ServingResult,
    ServingScenario,
    build_serving_scenario,
    run_serving_policy,
)
from autoscaler.simulator.serving.report import busiest_day, format_table, plot_day
from autoscaler.simulator.serving.requests import load_latencies, load_requests

# the bench's own modules, also when this file is loaded by its path (its tests)
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from frontier_cells import qos_config, qos_settings

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


# set in the parent before the workers fork: (config, trace, latencies)
_INPUTS: tuple = ()


def _job(speedup: float, name: str, setting: str | None) -> tuple[dict, list, np.ndarray]:
    """One replay: its summary row (before the oracle ratio), replica log and latencies."""
    cfg, trace, latencies = _INPUTS
    if setting is not None:
        cfg = with_qos(cfg, setting) if name == "qos" else with_predictive(cfg, setting)
    scn = build_serving_scenario(cfg, trace, latencies, speedup=speedup)
    run = run_serving_policy(scn, name)
    return run.summary(scn.serving.slo.total_seconds(), None), run.cluster.replica_log, run.latency


def run_jobs(jobs: list[tuple[float, str, str | None]], workers: int) -> dict:
    """``(speedup, name, setting) -> (row, replica log, latency)``, printing each row."""
    out = {}
    if workers <= 1:
        for job in jobs:
            out[job] = _job(*job)
            _report(job, out[job][0])
        return out
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = {job: pool.submit(_job, *job) for job in jobs}
        for job, fut in futures.items():
            out[job] = fut.result()
            _report(job, out[job][0])
    return out


def _report(job: tuple[float, str, str | None], row: dict) -> None:
    speedup, name, setting = job
    label = name if setting is None else f"{name}@{setting}"
    print(
        f"  {speedup:g}x {label}: {row['gpu_hours']:.1f} GPU-h, p95 "
        f"{row['latency_seconds']['p95']:.1f} s ({row['cpu_seconds']:.0f} s CPU, "
        f"{row['engine_ticks']:,} ticks)",
        flush=True,
    )


def with_predictive(cfg: Config, setting: str) -> Config:
    """``cfg`` with predictive_target's (target, quantile, stabilisation) = ``T:Q:S``, or
    with its spare, react (on/off) and tolerance too: ``T:Q:S:SPARE:REACT:TOL``, or with
    its spare_above and keep_warm as well: ``T:Q:S:SPARE:REACT:TOL:ABOVE:KEEP``; the
    options not given at their defaults."""
    fields = setting.split(":")
    target, quantile, stab = fields[:3]
    values: dict = {"target": float(target), "quantile": float(quantile)}
    values["stabilization_down"] = stab
    if len(fields) in (6, 8):
        values.update(spare=float(fields[3]), react=fields[4] == "on", tolerance=float(fields[5]))
    if len(fields) == 8:
        values.update(spare_above=float(fields[6]), keep_warm=fields[7])
    elif len(fields) not in (3, 6):
        raise SystemExit(
            f"--extra-predictive: {setting!r} is not T:Q:S, T:Q:S:SPARE:REACT:TOL or "
            "T:Q:S:SPARE:REACT:TOL:ABOVE:KEEP"
        )
    return with_predictive_config(cfg, PredictiveTargetPolicyConfig.model_validate(values))


def with_qos(cfg: Config, setting: str) -> Config:
    """``cfg`` with its first group's qos given the settings ``NAME=VALUE[+NAME=VALUE...]``
    (VALUE in YAML) over the group's own qos; ``SystemExit`` with one line on a bad one."""
    group = cfg.groups[0]
    listed = next((p for p in group.policies if p.kind == "qos"), QosPolicyConfig())
    base = listed.model_dump(mode="json")
    try:
        settings = qos_settings(setting.split("+"), base)
    except ValueError as exc:
        raise SystemExit(f"--extra-qos: {exc}") from None
    return with_predictive_config(cfg, qos_config(settings, base))


def with_predictive_config(cfg: Config, pt: PolicyConfig) -> Config:
    """``cfg`` with its first group's policy of ``pt``'s kind (predictive_target, qos)
    replaced by ``pt``. Raises ``SystemExit(2)`` (after one line) when the group
    contradicts ``pt`` (a quantile its forecast does not hold): ``model_copy`` skips the
    config's own checks."""
    group = cfg.groups[0]
    problem = policy_problem(group, pt)
    if problem is not None:
        print(f"error: {pt.kind} {problem[0]}: {problem[1]}", file=sys.stderr)
        raise SystemExit(2)
    policies = [p for p in group.policies if p.kind != pt.kind] + [pt]
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


def profile(scn: ServingScenario, name: str) -> None:
    """One replay under cProfile: the engine's share, then the top functions."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    run = run_serving_policy(scn, name)
    prof.disable()
    stats = pstats.Stats(prof)
    total = sum(v[3] for k, v in stats.stats.items() if k[2] == "run_serving_policy")  # type: ignore[attr-defined]
    tick = sum(
        v[3] for k, v in stats.stats.items() if k[2] == "tick" and k[0].endswith("engine.py")
    )  # type: ignore[attr-defined]
    print(f"{name}: {run.ticks:,} ticks, Engine.tick {tick / total:.0%} of the replay (cumulative)")
    stats.sort_stats("cumulative").print_stats(30)


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
        help="also run predictive_target at T:Q:S (target:quantile:stabilisation), "
        "T:Q:S:SPARE:REACT:TOL (react on/off) or T:Q:S:SPARE:REACT:TOL:ABOVE:KEEP "
        "(spare_above, keep_warm), a row of its own; several: comma-separated",
    )
    ap.add_argument(
        "--extra-qos",
        default=None,
        help="also run qos with NAME=VALUE settings (joined by +, e.g. "
        "panic_window=1m+scale_in_window=2m), a row of its own; several: comma-separated",
    )
    ap.add_argument("--out", type=Path, default=None, help="summary and day plot per speedup")
    ap.add_argument("--jobs", type=int, default=1, help="replays run at once (processes)")
    ap.add_argument(
        "--profile",
        default=None,
        metavar="POLICY",
        help="replay POLICY at the first speedup under cProfile, print where the time goes, stop",
    )
    ap.add_argument(
        "--serving",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override a serving: setting, e.g. wait_for_warm='\"10s\"' or "
        'host_cache=\'{"models": 1, "hosts": 64}\' (repeatable)',
    )
    args = ap.parse_args()
    cfg = load_config(args.config)
    assert cfg.serving is not None, f"{args.config} has no serving: section"
    settings = cfg.serving.model_dump(mode="json")
    for key in ("start_day", "days", "layout"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    for item in args.serving:
        key, _, value = item.partition("=")
        settings[key] = json.loads(value)
    cfg = cfg.model_copy(update={"serving": ServingConfig.model_validate(settings)})
    trace = load_requests(cfg.serving.requests)
    latencies = load_latencies(cfg.serving.load_latencies)
    names = args.policies.split(",")
    speedups = [float(x) for x in args.speedups.split(",")]
    global _INPUTS
    _INPUTS = (cfg, trace, latencies)
    if args.profile:
        profile(build_serving_scenario(cfg, trace, latencies, speedup=speedups[0]), args.profile)
        return
    jobs: list[tuple[float, str, str | None]] = [(sp, n, None) for sp in speedups for n in names]
    if args.extra_predictive:
        extras = args.extra_predictive.split(",")
        jobs += [(sp, "predictive_target", x) for sp in speedups for x in extras]
    if args.extra_qos:
        for x in args.extra_qos.split(","):
            with_qos(cfg, x)  # a bad setting stops the run before any replay
        jobs += [(sp, "qos", x) for sp in speedups for x in args.extra_qos.split(",")]
    # the slowest first, so that a pool is not left waiting on one long replay at the end
    jobs.sort(key=lambda j: (j[0], j[1] not in ("qos", "predictive_target")))
    t0 = time.perf_counter()
    done = run_jobs(jobs, args.jobs)
    wall = time.perf_counter() - t0
    replayed = 0
    for speedup in speedups:
        scn = build_serving_scenario(cfg, trace, latencies, speedup=speedup)
        core, core_cpu = event_core_rate(scn)
        mine = {j: v for j, v in done.items() if j[0] == speedup}
        summary = ServingResult(scn, {}).summary()
        pols = summary["policies"]
        for (_, name, setting), (row, _, _) in mine.items():
            pols[name if setting is None else f"{name}@{setting}"] = row
        pols = summary["policies"] = {k: pols[k] for k in [*names, *pols] if k in pols}
        oracle = pols.get("oracle")
        if oracle is not None:
            for row in pols.values():
                row["gpu_hours_vs_oracle"] = round(row["gpu_hours"] / oracle["gpu_hours"], 4)
        replayed += len(pols) * len(scn.trace)
        print(
            f"\n== arrival speedup {speedup:g}x: {len(scn.trace):,} requests over "
            f"{summary['trace']['span_seconds'] / 3600:.1f} h, {len(scn.group_names)} groups "
            f"({cfg.serving.layout}), days {cfg.serving.start_day}.."
            f"{'end' if cfg.serving.days is None else cfg.serving.start_day + cfg.serving.days - 1}"
        )
        print(format_table(pols))
        for line in goal_lines(pols):
            print(line)
        cpu = sum(d["cpu_seconds"] for d in pols.values())
        print(
            f"  speed: event core {core:,.0f} requests/wall s ({core_cpu:,.0f}/CPU s); "
            "per replay "
            + ", ".join(
                f"{n} {d['requests_per_wall_second']:,.0f}/wall s "
                f"{d['requests_per_cpu_second']:,.0f}/CPU s"
                for n, d in pols.items()
            )
            + f" ({sum(d['engine_ticks'] for d in pols.values()):,} ticks, {cpu:.0f} s CPU: "
            f"{len(pols) * len(scn.trace) / cpu:,.0f} requests/CPU s); goal >= {SPEED:,.0f}"
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
                {
                    (n if s is None else f"{n}@{s}"): (log, lat)
                    for (_, n, s), (_, log, lat) in mine.items()
                },
                scn.serving.slo.total_seconds(),
                f"GenAI serving at {tag}, {cfg.serving.layout} layout: day {day} of the replay",
            )
    print(
        f"\nwhole run: {replayed:,} requests replayed in {wall:.0f} s wall with {args.jobs} "
        f"worker(s): {replayed / wall:,.0f} requests/wall s (goal >= {SPEED:,.0f})"
    )


if __name__ == "__main__":
    main()
