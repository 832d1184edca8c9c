"""Time mode on the openb default trace across load: schedulers x preemption x migration,
and Synergy's allocation against GPU-proportional.

On the paper's full 1,523-node cluster the trace never queues (at most 66 of 6,212 GPUs
are busy at once), so the sweep runs it on etc/gpu-fleet-small.yaml (8 x 8 V100 plus
two CPU nodes) with arrivals sped up 1-4x (durations unchanged). The allocation
comparison runs on etc/gpu-fleet-synergy.yaml (the same GPUs on servers shaped like
Synergy's: 3 CPUs and 62.5 GB per GPU), and once on the small fleet (16 CPUs per GPU)
to show what happens when CPU is plentiful. Wall seconds per configuration are
printed, with one full-fleet run and the ratio of each to fifo's in the same load.

Usage: .venv/bin/python bench/gpu_fleet_time.py [--loads 1,2,3,4] [--plot PNG] [--json OUT]
(``--json`` appends one line per run as it finishes.)
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from autoscaler.simulator.gpu.fleet import load_fleet
from autoscaler.simulator.gpu.pods import load_pods
from autoscaler.simulator.gpu.report import run_summary, time_table
from autoscaler.simulator.gpu.time_replay import TimeConfig, TimeRun, run_time

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "alibaba-gpu-v2023"
SWEEP = (
    {"scheduler": "fifo"},
    {"scheduler": "tiresias", "preemption": True},
    {"scheduler": "tiresias"},
    {"scheduler": "tiresias", "preemption": True, "migration": True},
    {"scheduler": "gittins", "preemption": True},
    {"scheduler": "fifo", "migration": True},
    {"scheduler": "sjf"},
    {"scheduler": "priority"},
    {"scheduler": "tiresias", "preemption": True, "borrowing": True},
)
ALLOC = ({"allocation": "proportional"}, {"allocation": "synergy"})


def _run(job: tuple[str, float, dict]) -> TimeRun:
    fleet_file, speedup, kw = job
    fleet = load_fleet(ROOT / "etc" / fleet_file)
    pods = load_pods(DATA / "openb_pod_list_default.csv")
    return run_time(fleet, pods, TimeConfig(arrival_speedup=speedup, seed=42, **kw))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}x" if b else "-"


def _report_load(speedup: float, runs: list[TimeRun], alloc: list[TimeRun]) -> dict:
    by = {r.config.label(): r for r in runs}
    fifo = by["best_fit/fifo/no-migration/request"]
    las = by["best_fit/tiresias/no-migration/request"]
    las_p = by["best_fit/tiresias+preempt/no-migration/request"]
    las_pm = by["best_fit/tiresias+preempt/migration/request"]
    fifo_m = by["best_fit/fifo/migration/request"]
    queued = fifo.util_while_queued_pct is not None
    print(f"\n== arrivals x{speedup:g} (queues form: {queued}) ==")
    print(time_table(runs))
    print(time_table(alloc).split("\n", 1)[1])
    m = "mean"
    print(
        f"tiresias+preempt vs fifo: mean JCT {_ratio(las_p.jct_stat(m), fifo.jct_stat(m))}, "
        f"vs tiresias: {_ratio(las_p.jct_stat(m), las.jct_stat(m))}; "
        f"gittins+preempt vs fifo: "
        f"{_ratio(by['best_fit/gittins+preempt/no-migration/request'].jct_stat(m), fifo.jct_stat(m))}"
    )
    borrow = by["best_fit/tiresias+preempt/no-migration/request/borrow"]
    print(
        f"borrowing (tiresias+preempt): mean JCT {_ratio(borrow.jct_stat(m), las_p.jct_stat(m))} "
        f"of without, {borrow.quota_returns} quota returns"
    )
    print(
        f"migration ({las_pm.compactions} and {fifo_m.compactions} compactions): fragmentation "
        f"{las_pm.mean_fragmentation_pct:.2f} vs "
        f"{las_p.mean_fragmentation_pct:.2f} % (tiresias+preempt), "
        f"{fifo_m.mean_fragmentation_pct:.2f} vs {fifo.mean_fragmentation_pct:.2f} % (fifo)"
    )
    prop, syn = alloc[0], alloc[1]
    print(
        f"synergy vs proportional (synergy-shaped fleet, fifo): mean JCT "
        f"{_ratio(syn.jct_stat(m), prop.jct_stat(m))} (speed-up "
        f"{_ratio(prop.jct_stat(m), syn.jct_stat(m))}; Synergy published: up to 3.4x)"
    )
    walls = ", ".join(
        f"{r.config.label()} {r.wall_seconds:.1f} (CPU {r.cpu_seconds:.1f})" for r in runs + alloc
    )
    print(
        f"wall s: {walls}; slowest / fifo {_ratio(max(r.wall_seconds for r in runs), fifo.wall_seconds)}"
    )
    return {
        "arrival_speedup": speedup,
        "queues_form": queued,
        "runs": {r.config.label(): run_summary(r) for r in runs},
        "allocation_runs": {r.config.label(): run_summary(r) for r in alloc},
    }


def plot(loads: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for label in sorted({k for d in loads for k in d["runs"]}):
        name = label.split("/", 1)[1].replace("/request", "")
        have = [d for d in loads if label in d["runs"]]
        for ax, stat in zip(axes, ("mean", "p50"), strict=True):
            ax.plot(
                [d["arrival_speedup"] for d in have],
                [d["runs"][label]["jct_seconds"][stat] / 3600 for d in have],
                "o-",
                label=name,
                lw=1,
            )
    labels = sorted({k for d in loads for k in d["allocation_runs"]})
    for label in labels:
        name = "synergy fleet: " + label.split("/")[-1]
        have = [d for d in loads if label in d["allocation_runs"]]
        axes[0].plot(
            [d["arrival_speedup"] for d in have],
            [d["allocation_runs"][label]["jct_seconds"]["mean"] / 3600 for d in have],
            "s--",
            label=name,
            lw=1,
        )
    for ax, stat in zip(axes, ("mean", "median"), strict=True):
        ax.set_xlabel("arrival speed-up (load)")
        ax.set_ylabel(f"{stat} JCT (h)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("openb default trace, 8 x 8 V100 (small fleet): JCT against load")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cls(run: dict, name: str) -> str:
    c = run["by_class"].get(name)
    return f"{c['jct_seconds']['mean']:.0f}" if c and c["jct_seconds"]["mean"] else "-"


def markdown(lines: list[dict]) -> str:
    """The docs table from ``--json`` lines: one row per run, grouped by load."""
    head = (
        "| load | fleet | configuration | mean JCT s | p95 JCT s | LS mean | BE mean "
        "| wait mean s | frag % | util % | preempt | migr (compact) | CPU s |"
    )
    rows = [head, "|" + "---|" * 13]
    for r in sorted(lines, key=lambda r: r["arrival_speedup"]):
        name = r["scheduler"] + ("+preempt" if r["preemption"] else "")
        name += "+migration" if r["migration"] else ""
        name += "+borrow" if r.get("borrowing") else ""
        name += f" / {r['allocation']}" + (" (clairvoyant)" if r["clairvoyant"] else "")
        rows.append(
            f"| x{r['arrival_speedup']:g} | {r['fleet'].removesuffix('.yaml')} | {name} "
            f"| {r['jct_seconds']['mean']:.0f} | {r['jct_seconds']['p95']:.0f} "
            f"| {_cls(r, 'LS')} | {_cls(r, 'BE')} | {r['queueing_delay_seconds']['mean']:.0f} "
            f"| {r['mean_fragmentation_pct']:.2f} | {r['mean_gpu_utilisation_pct']:.1f} "
            f"| {r['preemptions'] + r['quota_returns']} | {r['migrations']}"
            f"{' (' + str(r['compactions']) + ')' if r.get('compactions') else ''} "
            f"| {r.get('cpu_seconds') or r['wall_seconds']:.1f} |"
        )
    return "\n".join(rows)


def loads_from_lines(lines: list[dict]) -> list[dict]:
    """Group ``--json`` lines into the per-load form ``plot`` takes."""
    by: dict[float, dict] = {}
    for r in lines:
        d = by.setdefault(
            r["arrival_speedup"],
            {"arrival_speedup": r["arrival_speedup"], "runs": {}, "allocation_runs": {}},
        )
        key = "runs" if r["allocation"] == "request" else "allocation_runs"
        if r["fleet"] == "gpu-fleet-synergy.yaml" or key == "runs":
            name = (
                f"{r['placement']}/{r['scheduler']}{'+preempt' if r['preemption'] else ''}/"
                f"{'migration' if r['migration'] else 'no-migration'}/{r['allocation']}"
                f"{'/borrow' if r.get('borrowing') else ''}"
            )
            d[key][name] = r
    return sorted(by.values(), key=lambda d: d["arrival_speedup"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", default="1,2,3,4")
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--from-json", type=Path, default=None, help="only tabulate and plot")
    ap.add_argument("--configs", default=None, help="indices into SWEEP (default: all)")
    ap.add_argument("--alloc-loads", default=None, help="loads for the allocation runs")
    ap.add_argument("--workers", type=int, default=2, help="processes (the brief allows 2)")
    args = ap.parse_args()
    if args.from_json:
        lines = [json.loads(x) for x in args.from_json.read_text().splitlines() if x.strip()]
        print(markdown(lines))
        if args.plot:
            plot(loads_from_lines(lines), args.plot)
        return
    loads = [float(x) for x in args.loads.split(",")]
    sweep = [SWEEP[int(i)] for i in args.configs.split(",")] if args.configs else list(SWEEP)
    alloc_loads = [float(x) for x in args.alloc_loads.split(",")] if args.alloc_loads else loads
    jobs = []
    for s in loads:  # load by load, so that a cut-short sweep has whole loads
        jobs += [("gpu-fleet-small.yaml", s, kw) for kw in sweep]
        jobs += [("gpu-fleet-synergy.yaml", s, kw) for kw in ALLOC if s in alloc_loads]
    jobs += [("gpu-fleet-small.yaml", 2.0, kw) for kw in ALLOC]
    partial = len(sweep) < len(SWEEP) or alloc_loads != loads
    started = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=min(args.workers, 2)) as pool:
        for job, r in zip(jobs, pool.map(_run, jobs), strict=True):
            results.append(r)  # printed as they come: a partial sweep still reports
            print(
                f"done {job[0]} x{job[1]:g} {r.config.label()}: mean JCT "
                f"{r.jct_stat('mean'):.0f} s, wall {r.wall_seconds:.1f} s, CPU {r.cpu_seconds:.1f} s",
                flush=True,
            )
            if args.json:
                with args.json.open("a") as fh:
                    fh.write(json.dumps({"fleet": job[0], **run_summary(r)}) + "\n")
    if partial:  # the JSON lines hold the runs; --from-json tabulates them
        return
    n = len(SWEEP) + len(ALLOC)
    out = []
    for i, s in enumerate(loads):
        chunk = results[i * n : (i + 1) * n]
        out.append(_report_load(s, chunk[: len(SWEEP)], chunk[len(SWEEP) :]))
    out.sort(key=lambda d: d["arrival_speedup"])
    small = results[-2:]
    print("\nallocation on the small fleet (16 CPUs, 96 GiB per GPU), x2, fifo:")
    print(time_table(small))
    print(
        f"synergy vs proportional: mean JCT {_ratio(small[1].jct_stat('mean'), small[0].jct_stat('mean'))}"
    )
    full = load_fleet(DATA / "openb_node_list_all_node.csv")
    pods = load_pods(DATA / "openb_pod_list_default.csv")
    whole = run_time(full, pods, TimeConfig(scheduler="tiresias", preemption=True, seed=42))
    print(
        f"\nfull openb fleet ({full.size} nodes), x1, tiresias+preempt: {whole.wall_seconds:.1f} s "
        f"(CPU {whole.cpu_seconds:.1f} s) "
        f"wall, mean JCT {whole.jct_stat('mean'):.0f} s, never queued: "
        f"{whole.util_while_queued_pct is None}"
    )
    print(f"bench total {time.perf_counter() - started:.0f} s")
    if args.plot:
        plot(out, args.plot)


if __name__ == "__main__":
    main()
