"""Policy quality on real traces: SLO violations and instance-hours of every policy.

Runs threshold, target, predictive_threshold, predictive_target, qos and the oracle on
the NASA per-minute trace and two NAB series, with boot delays of 2 and 10 minutes, and
checks the goal for qos on each: fewer SLO-violating steps than threshold and target,
no more instance-hours than target, and within 1.25x of the oracle's instance-hours.
Prints the full table and, per trace, which parts of the goal hold and which do not.
qos also runs at 2 % and 5 % violation budgets and at threshold's and target's own
violation rates, to compare its cost/violation trade-off curve with their points.

    .venv/bin/python bench/policy_quality.py [--quick] [--json FILE]

``--quick`` uses the bundled NASA week instead of the full 58 days (84k steps).
Reads the traces from ../shared/data (beside the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from autoscaler.config import Config, SloConfig, default_group
from autoscaler.simulation import DEFAULT_POLICIES, build_scenario, run_policy, simulate
from autoscaler.traces import load_trace

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRACES = {
    "nasa": ("nasa-http-1995/nasa_http_1995_per_minute.csv", "zero"),  # server down: no load
    "nab-elb": ("nab/realAWSCloudwatch/elb_request_count_8c0756.csv", "previous"),
    "nab-asg": ("nab/realKnownCause/cpu_utilization_asg_misconfiguration.csv", "previous"),
}
BOOTS = (timedelta(minutes=2), timedelta(minutes=10))
# qos run again with a looser violation budget (slo.target_violation_pct): the same
# policy at another point of its cost/violation trade-off, shown beside the default 1 %.
BUDGETS = (2.0, 5.0)
MATCHED = ("threshold", "target")


def goal(rows: dict[str, dict]) -> list[str]:
    """The parts of the qos goal that are missed, as short phrases (empty: all met)."""
    q, th, tg, orc = rows["qos"], rows["threshold"], rows["target"], rows["oracle"]
    missed = []
    if not q["violating_steps"] < th["violating_steps"]:
        missed.append(f"violations {q['violating_steps']} >= threshold's {th['violating_steps']}")
    if not q["violating_steps"] < tg["violating_steps"]:
        missed.append(f"violations {q['violating_steps']} >= target's {tg['violating_steps']}")
    if q["instance_hours"] > tg["instance_hours"]:
        missed.append(
            f"instance-hours {q['instance_hours']:.0f} > target's {tg['instance_hours']:.0f}"
        )
    if q["instance_hours_vs_oracle"] > 1.25:
        missed.append(f"{q['instance_hours_vs_oracle']:.2f}x the oracle")
    if missed and tg["instance_hours"] < orc["instance_hours"]:
        missed.append(
            "[note: target uses fewer instance-hours than the zero-violation oracle; "
            "it saves by violating the SLO]"
        )
    return missed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the bundled NASA week, not 58 days")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"error: the real traces are not at {DATA}", file=sys.stderr)
        return 2

    results: dict[str, dict] = {}
    header = (
        f"{'trace':<9}{'boot':>5}  {'policy':<21}{'viol %':>7}{'viol steps':>11}"
        f"{'inst-h':>10}{'vs oracle':>10}{'actions':>8}{'wall s':>8}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    matched: list[tuple[str, str]] = []
    for tname, (rel, fill) in TRACES.items():
        path = None if (args.quick and tname == "nasa") else DATA / rel
        trace = load_trace(path, fill=fill)
        for boot in BOOTS:
            scn = build_scenario(trace, boot_delay=boot)
            t0 = time.perf_counter()
            res = simulate(scn, DEFAULT_POLICIES)
            rows = {}
            for name, run in res.runs.items():
                d = res.summary()["policies"][name]
                d["violating_steps"] = int(run.score.violations.sum())
                rows[name] = d
                print(
                    f"{tname:<9}{int(boot.total_seconds() // 60):>4}m  {name:<21}"
                    f"{d['slo_violation_pct']:>7.2f}{d['violating_steps']:>11}"
                    f"{d['instance_hours']:>10.0f}{d['instance_hours_vs_oracle']:>10.2f}"
                    f"{d['scaling_actions']:>8}{d['wall_seconds']:>8.1f}",
                    flush=True,
                )
            oracle_hours = rows["oracle"]["instance_hours"]
            # qos at other violation budgets: the fixed ones, then each reactive policy's
            # own violation rate, which asks whether qos reaches that policy's SLO record
            # for fewer instance-hours (its whole trade-off curve against their points).
            budgets = [(f"qos@{pct:g}%", pct) for pct in BUDGETS] + [
                (f"qos@{ref}", max(rows[ref]["slo_violation_pct"], 0.01)) for ref in MATCHED
            ]
            for name, pct in budgets:
                group = default_group().model_copy(
                    update={"slo": SloConfig(target_violation_pct=min(pct, 50.0))}
                )
                scn_b = build_scenario(trace, Config(groups=[group]), boot_delay=boot)
                run = run_policy(scn_b, "qos", res.required)
                d = run.score.as_dict()
                d["instance_hours_vs_oracle"] = round(run.score.instance_hours / oracle_hours, 4)
                d["violating_steps"] = int(run.score.violations.sum())
                d["wall_seconds"] = round(run.wall_seconds, 3)
                d["budget_pct"] = round(pct, 3)
                rows[name] = d
                print(
                    f"{tname:<9}{int(boot.total_seconds() // 60):>4}m  {name:<21}"
                    f"{d['slo_violation_pct']:>7.2f}{d['violating_steps']:>11}"
                    f"{d['instance_hours']:>10.0f}{d['instance_hours_vs_oracle']:>10.2f}"
                    f"{d['scaling_actions']:>8}{d['wall_seconds']:>8.1f}",
                    flush=True,
                )
            key = f"{tname}/{int(boot.total_seconds() // 60)}m"
            results[key] = {
                "steps": len(scn.load),
                "wall_seconds": round(time.perf_counter() - t0, 1),
                "policies": rows,
            }
            missed = goal(rows)
            results[key]["goal_missed"] = missed
            verdicts.append((key, missed))
            for name in [f"qos@{pct:g}%" for pct in BUDGETS] + [f"qos@{r}" for r in MATCHED]:
                variant = goal({**rows, "qos": rows[name]})
                results[key][f"goal_missed_{name}"] = variant
                verdicts.append((f"{key} {name}", variant))
            for ref in MATCHED:
                q, r = rows[f"qos@{ref}"], rows[ref]
                line = (
                    f"at {ref}'s {r['slo_violation_pct']:.2f} % budget: qos "
                    f"{q['violating_steps']} vs {r['violating_steps']} violating steps, "
                    f"{q['instance_hours']:.0f} vs {r['instance_hours']:.0f} instance-hours "
                    f"({q['instance_hours'] / r['instance_hours']:.2f}x)"
                )
                results[key][f"matched_{ref}"] = line
                matched.append((key, line))
        print()

    print("qos goal per trace and boot delay")
    for key, missed in verdicts:
        print(f"  {key:<18} {'MET' if not missed else 'missed: ' + '; '.join(missed)}")
    print()
    print("qos run at each reactive policy's own violation rate (its trade-off curve)")
    for key, line in matched:
        print(f"  {key:<10} {line}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
