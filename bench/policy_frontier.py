"""The cost/violation frontier of every policy family on the dev corpus.

For each trace (NASA per minute, NAB ELB, NAB ASG, the ten NAB realTweets series, the
GenAI request rate) and boot delay (2 and 10 minutes) it runs target at utilisations
0.2-0.85 (the HPA tuned with hindsight: its frontier), threshold variants, qos at
budgets 0.5, 1, 2 and 5 %, and the oracle, on a process pool. Per trace it prints
qos's instance-hours over the target frontier's, interpolated at qos's own violation
rate, checks the goals, and draws the frontier (violations against instance-hours,
one curve per family) as PNGs.

    nice .venv/bin/python bench/policy_frontier.py [--workers N] [--days D]
        [--nasa-days D] [--traces a,b] [--json FILE] [--png-dir DIR] [--reuse FILE]

``--days`` (default 14) and ``--nasa-days`` (default 7) cut each trace to its first
days so that the whole grid (476 runs) finishes in about half an hour on 2 cores.
``--reuse FILE`` takes the target, threshold and oracle rows from an earlier run's
``--json`` (same cuts) and runs only qos: for a change to qos alone. ``--qos-set
NAME=VALUE`` (repeatable; VALUE in YAML, e.g. ``panic_window=30m``) runs qos with that
setting instead of its default. ``--rows FILE``
(repeatable) takes rows from earlier ``--partial`` files and runs only the cells they lack.
"""

from __future__ import annotations

import os

# One BLAS thread, as the CLI sets (``autoscaler.cli.single_thread_blas``), before numpy
# loads: the level model's season check takes dot products of a week of samples, and a
# multi-threaded BLAS spent milliseconds per product waking threads on a busy machine.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

from frontier_cells import (  # noqa: E402
    BOOTS,
    BUDGETS,
    DATA,
    HELD_OUT,
    TRACES,
    cells,
    qos_settings,
    run_cell,
    steps_per_day,
)

from autoscaler.sweep.frontier import frontier, interpolate  # noqa: E402

GOAL_BUDGETS = (1.0, 2.0, 5.0)
COST_GOAL = 0.85


def judge(rows: list[dict]) -> dict:
    """qos against the target frontier on one trace and boot delay."""
    by = {r["label"]: r for r in rows}
    front = frontier(
        [(r["violation_pct"], r["instance_hours"]) for r in rows if r["family"] == "target"]
    )
    oracle = by["oracle"]["instance_hours"]
    out: dict = {"qos": {}, "missed": []}
    for r in rows:
        if r["family"] != "qos":
            continue
        ref, side = interpolate(front, r["violation_pct"])
        budget = float(r["label"].split()[1].rstrip("%"))
        out["qos"][budget] = {
            "violation_pct": r["violation_pct"],
            "vs_frontier": r["instance_hours"] / ref,
            "side": side,
            "vs_oracle": r["instance_hours"] / oracle,
        }
    for b in GOAL_BUDGETS:
        if b not in out["qos"]:
            continue
        q = out["qos"][b]
        within = 0.5 * b <= q["violation_pct"] <= 1.5 * b
        below_cheaper = q["violation_pct"] < b and q["vs_frontier"] < 1.0
        if not (within or below_cheaper):
            out["missed"].append(f"{b:g}%: {q['violation_pct']:.2f}% violations")
        if q["vs_frontier"] > COST_GOAL:
            out["missed"].append(f"{b:g}%: {q['vs_frontier']:.2f}x the frontier")
    rates = [out["qos"][b]["violation_pct"] for b in sorted(out["qos"])]
    if any(a > c + 0.05 for a, c in itertools.pairwise(rates)):
        out["missed"].append("violations do not fall with the budget")
    return out


def plot(
    results: dict[tuple[str, int], list[dict]],
    traces: list[str],
    png_dir: Path,
    boots: tuple[int, ...] = BOOTS,
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    colours = {"target": "C0", "threshold": "C2", "qos": "C3", "oracle": "k"}
    for boot in boots:
        cols = min(4, len(traces))  # one trace: one panel, not a row of empty ones
        rows_n = math.ceil(len(traces) / cols)
        fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 3.2 * rows_n), squeeze=False)
        for ax, name in zip(axes.flat, traces, strict=False):
            rows = results[(name, boot)]
            oracle = next(r for r in rows if r["family"] == "oracle")["instance_hours"]
            for fam, colour in colours.items():
                pts = sorted(
                    (r["instance_hours"] / oracle, r["violation_pct"])
                    for r in rows
                    if r["family"] == fam
                )
                if fam == "qos":  # each qos point named by its budget
                    for r in rows:
                        if r["family"] == "qos":
                            ax.annotate(
                                r["label"].split()[1],
                                (r["instance_hours"] / oracle, r["violation_pct"]),
                                textcoords="offset points",
                                xytext=(3, 3),
                                fontsize=6,
                                color=colour,
                            )
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(
                        xs,
                        ys,
                        "o-" if fam != "oracle" else "*",
                        color=colour,
                        ms=4,
                        lw=1,
                        label=fam,
                    )
            ax.set_yscale("symlog", linthresh=0.5)
            ax.set_title(f"{name}, boot {boot} min", fontsize=9)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        for ax in axes.flat[len(traces) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.supxlabel("instance-hours / oracle's")
        fig.supylabel("SLO-violating steps, %")
        fig.tight_layout()
        path = png_dir / f"policy-frontier-boot{boot}m.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--days", type=float, default=14.0, help="first days of each 5-min trace")
    ap.add_argument("--nasa-days", type=float, default=7.0, help="first days of NASA")
    ap.add_argument(
        "--traces",
        default=",".join(TRACES),
        help=f"default: the dev corpus; held out: {', '.join(HELD_OUT)}",
    )
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--png-dir", type=Path, default=Path("."))
    ap.add_argument("--reuse", type=Path, default=None, help="non-qos rows from this --json")
    ap.add_argument("--boots", default="2,10", help="boot delays, minutes")
    ap.add_argument("--budgets", default="0.5,1,2,5", help="qos violation budgets, %%")
    ap.add_argument(
        "--qos-set", action="append", default=[], help="NAME=VALUE: a qos setting (repeatable)"
    )
    ap.add_argument("--partial", type=Path, default=None, help="append each row here (JSONL)")
    ap.add_argument(
        "--rows",
        type=Path,
        action="append",
        default=[],
        help="qos rows from this --partial file instead of running them (repeatable)",
    )
    args = ap.parse_args()
    boots = tuple(int(b) for b in args.boots.split(","))
    budgets = tuple(float(b) for b in args.budgets.split(","))
    if not set(boots) <= set(BOOTS) or not set(budgets) <= set(BUDGETS):
        print(f"error: boots from {BOOTS}, budgets from {BUDGETS}", file=sys.stderr)
        return 2
    if not DATA.is_dir():
        print(f"error: the real traces are not at {DATA}", file=sys.stderr)
        return 2
    traces = [t for t in args.traces.split(",") if t]
    unknown = [t for t in traces if t not in TRACES and t not in HELD_OUT]
    if unknown:
        print(f"error: --traces: unknown trace(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:  # checked before the runs: a missing folder failed only at the plots, at the end
        args.png_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: --png-dir {args.png_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        qos = qos_settings(args.qos_set)
    except ValueError as exc:
        print(f"error: --qos-set: {exc}", file=sys.stderr)
        return 2
    todo = cells(traces, boots, budgets, qos)
    per_day = {t: steps_per_day(t) for t in traces}
    days = {t: args.nasa_days if t == "nasa" else args.days for t in traces}
    limits = {t: int(days[t] * per_day[t]) for t in traces}
    results: dict[tuple[str, int], list[dict]] = {}
    if args.reuse:
        old = json.loads(args.reuse.read_text())
        if any(old["limits"].get(t) != limits[t] for t in traces):
            print("error: --reuse: that run cut the traces differently", file=sys.stderr)
            return 2
        for r in old["runs"]:
            if r["trace"] in limits and r["boot"] in boots and r["family"] != "qos":
                results.setdefault((r["trace"], r["boot"]), []).append(r)
        todo = [c for c in todo if c.family == "qos"]
    wanted = {(c.trace, c.boot, c.label) for c in todo}
    done = set()
    for path in args.rows:  # rows of earlier (partial) runs: only the cells they lack run
        for line in path.read_text().splitlines():
            r = json.loads(line)
            key = (r["trace"], r["boot"], r["label"])
            if key in wanted and key not in done:
                done.add(key)
                results.setdefault((r["trace"], r["boot"]), []).append(r)
    todo = [c for c in todo if (c.trace, c.boot, c.label) not in done]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [(c, pool.submit(run_cell, c, limits[c.trace])) for c in todo]
        for i, (cell, fut) in enumerate(futures, 1):
            row = fut.result()
            results.setdefault((cell.trace, cell.boot), []).append(row)
            if args.partial:
                with args.partial.open("a") as f:
                    f.write(json.dumps(row) + "\n")
            if i % 50 == 0:
                print(
                    f"  {i}/{len(todo)} runs, {time.perf_counter() - t0:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    wall = time.perf_counter() - t0

    print(f"{len(todo)} runs on {args.workers} workers in {wall / 60:.1f} min")
    if args.reuse:
        print(f"(target, threshold and oracle rows reused from {args.reuse})")
    print("qos instance-hours / the target frontier's at qos's own violation rate (violation %)")
    head = f"{'trace':<10}{'boot':>5}" + "".join(f"{f'qos {b:g}%':>18}" for b in budgets)
    print(head)
    print("-" * len(head))
    verdicts = {}
    for name in traces:
        for boot in boots:
            j = judge(results[(name, boot)])
            verdicts[f"{name}/{boot}m"] = j
            line = f"{name:<10}{boot:>4}m"
            for b in budgets:
                q = j["qos"][b]
                line += f"{q['side'] + format(q['vs_frontier'], '.2f') + 'x':>9} ({q['violation_pct']:5.2f})"
            print(line)
    print()
    met = [k for k, j in verdicts.items() if not j["missed"]]
    print(f"goal met on {len(met)} of {len(verdicts)} trace/boot pairs")
    for k, j in verdicts.items():
        if j["missed"]:
            print(f"  {k:<14} missed: {'; '.join(j['missed'])}")
    print("(< : qos has fewer violations than the frontier's least; compared with that point)")
    print("(> : more violations than the frontier's most; compared with its cheapest point)")
    for p in plot(results, traces, args.png_dir, boots):
        print(f"wrote {p}")
    if args.json:
        doc = {
            "wall_seconds": wall,
            "limits": limits,
            "qos_settings": dict(qos),
            "runs": [r for rs in results.values() for r in rs],
            "verdicts": verdicts,
        }
        args.json.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
