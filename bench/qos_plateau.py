"""Where qos's SLO violations come from on a frontier trace, and what a causal rule needs.

For one trace and boot delay of the policy frontier (``bench/policy_frontier.py``'s
scenario) and each budget it runs qos and prints: its violations and instance-hours
(per half of the trace too); how many violating steps were *surprises* (the instances
ready covered the newest sample the sizing decision could see); how many a rule holding
the largest need of the last 30 minutes, 1 or 2 hours would have covered; the violation
rate by the number of instances serving; the learned band (from the decisions'
reasons) at the start of every second day; and the cheapest of
``bench/causal_bound.py``'s reactive rules (the max of the last w samples, times 1 + h,
h tuned with hindsight to the budget).

    nice .venv/bin/python bench/qos_plateau.py --trace tw-UPS [--boot 2] [--budgets 0.5,1]
        [--qos-set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from datetime import timedelta

import numpy as np
import pandas as pd
from causal_bound import hindsight_inputs, tune
from frontier_cells import HELD_OUT, TRACES, Cell, qos_settings, scenario, steps_per_day

from autoscaler.simulation import run_policy

LEVELS = ((0, 2), (2, 4), (4, 8), (8, 16), (16, 10**6))  # ready instances
HOLDS = (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2))
WINDOWS = (2, 6, 12, 24, 72, 288)  # samples, for the causal rules
_BAND = re.compile(r"band x([0-9.]+)")


def covered_by_hold(required: np.ndarray, steps: np.ndarray, lag: int, hold: int) -> int:
    """Violating ``steps`` whose need was reached within ``hold`` samples before the
    newest sample a decision could see (``lag`` back): a hold of the recent max covers them."""
    n = 0
    for i in steps:
        lo, hi = max(0, i - lag - hold + 1), i - lag + 1
        n += hi > lo and int(required[lo:hi].max()) >= required[i]
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", required=True, choices=[*TRACES, *HELD_OUT])
    ap.add_argument("--boot", type=int, default=2, help="minutes")
    ap.add_argument("--budgets", default="0.5,1,2,5")
    ap.add_argument("--days", type=float, default=14.0)
    ap.add_argument("--qos-set", action="append", default=[], help="NAME=VALUE (repeatable)")
    args = ap.parse_args()
    try:  # a bad setting fails here, not mid-run
        qos = qos_settings(args.qos_set)
    except ValueError as exc:
        print(f"error: --qos-set: {exc}", file=sys.stderr)
        return 2
    limit = int(args.days * steps_per_day(args.trace))
    budgets = [float(b) for b in args.budgets.split(",")]
    base = scenario(Cell(args.trace, args.boot, "oracle", None), limit)
    spec, step = base.spec, base.step
    required, oracle, table, lag, past = hindsight_inputs(base)
    past = past.fillna(0.0)
    seen = np.minimum(table.required(past.to_numpy()), spec.max_size)
    jump = required >= 2 * np.maximum(seen, 1) + 1
    print(
        f"{args.trace}, boot {args.boot} min: {len(required)} steps, oracle {oracle:.0f} "
        f"instance-hours; {jump.mean() * 100:.2f} % of steps need more than twice (+1) the "
        f"instances of the newest visible sample"
    )
    per_hour = timedelta(hours=1) / step
    half = len(required) // 2
    for budget in budgets:
        scn = scenario(Cell(args.trace, args.boot, "qos", budget, qos), limit)
        run = run_policy(scn, "qos", required)
        ready, bad = run.ready, run.ready < required
        steps = np.flatnonzero(bad)
        surprise = int(np.sum(ready[steps] >= seen[steps]))
        holds = [covered_by_hold(required, steps, lag, round(h / step)) for h in HOLDS]
        levels = "; ".join(
            f"{lo}-{min(hi - 1, spec.max_size)}: {m.mean() * 100:.0f} % of steps, "
            f"{bad[m].mean() * 100:.2f} %"
            for lo, hi in LEVELS
            if (m := (ready >= lo) & (ready < hi)).any()
        )
        bands = [
            float(b.group(1)) if (b := _BAND.search(d.reason)) else math.nan for d in run.decisions
        ]
        bands = pd.Series(bands).ffill().tolist()  # panic and scale-in reasons omit it
        by_day = [
            bands[min(d * steps_per_day(args.trace), len(bands) - 1)] for d in range(0, 15, 2)
        ]
        rules = []
        for w in WINDOWS:
            found = tune(
                past.rolling(w, min_periods=1).max().to_numpy(),
                required,
                budget,
                table,
                spec.max_size,
            )
            if found is not None:
                h, viol, prov = found
                rules.append((prov.sum() / per_hour, w, h, viol))
        ih = run.score.instance_hours
        print(
            f"\nqos {budget:g} %: {run.score.slo_violation_pct:.2f} % at {ih:.0f} instance-hours ({ih / oracle:.2f}x the oracle)"
        )
        print(
            f"  halves: {bad[:half].mean() * 100:.2f} % / {bad[half:].mean() * 100:.2f} % violations, "
            f"{ready[:half].sum() / per_hour:.0f} / {ready[half:].sum() / per_hour:.0f} instance-hours"
        )
        print(
            f"  {len(steps)} violating steps: {surprise} surprises; a hold of the recent max "
            f"would cover {holds[0]} (30 min), {holds[1]} (1 h), {holds[2]} (2 h)"
        )
        print(f"  by instances serving: {levels}")
        print(f"  band at the start of every second day: {', '.join(f'{b:.1f}' for b in by_day)}")
        if rules:
            cost, w, h, viol = min(rules)
            print(
                f"  cheapest causal rule: max of the last {w} samples x {1 + h:.2f}: {viol:.2f} % at {cost:.0f} instance-hours"
            )
        else:
            print("  no causal rule reaches the budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
