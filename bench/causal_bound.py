"""How cheap can a causal policy be on a trace? Simple reactive rules tuned with hindsight.

For the embedded NASA week (or ``--trace``) and the default group, each rule sizes the
group at step t for ``(1 + h) x`` a statistic of the load it could have seen: samples
up to the decision ``boot + 1`` steps earlier (the engine decides on the newest sample
and a new instance serves after its boot delay). The statistic is the max, or the mean
plus k standard deviations, over the last w samples, or the max of those and the load a
day earlier. ``h`` is searched, with hindsight, for each rule to land on the budget.
The rules have no cooldowns, step limits or boot jitter, so they are a generous bound
on what a reactive rule can do, not a policy; the oracle is the same as in
``autoscaler simulate``.

    nice .venv/bin/python bench/causal_bound.py [--trace CSV] [--budget 1] [--boot-delay 2m]
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import timedelta

import numpy as np
import pandas as pd

from autoscaler.config import Config, default_group
from autoscaler.durations import parse_duration
from autoscaler.queueing import SloCapacity, slo_capacity
from autoscaler.simulation import Scenario, build_scenario, run_policy
from autoscaler.simulator.scoring import required_instances
from autoscaler.traces import load_trace


def sized(base: np.ndarray, h: float, table: SloCapacity, max_size: int) -> np.ndarray:
    return np.minimum(table.required(np.nan_to_num(base) * (1.0 + h)), max_size)


def tune(
    base: np.ndarray, required: np.ndarray, budget: float, table: SloCapacity, max_size: int
) -> tuple[float, float, np.ndarray] | None:
    """The smallest headroom h (bisection) whose violating steps are at most ``budget`` %;
    None when even h = 10 violates more."""
    lo, hi = 0.0, 10.0
    if (sized(base, hi, table, max_size) < required).mean() * 100 > budget:
        return None
    for _ in range(40):
        mid = (lo + hi) / 2
        if (sized(base, mid, table, max_size) < required).mean() * 100 > budget:
            lo = mid
        else:
            hi = mid
    prov = sized(base, hi, table, max_size)
    return hi, (prov < required).mean() * 100, prov


def hindsight_inputs(scn: Scenario) -> tuple[np.ndarray, float, SloCapacity, int, pd.Series]:
    """What the rules are tuned against on ``scn``: the instances each step needs (at
    most ``max_size``), the oracle's instance-hours, the SLO capacity table, the lag in
    steps from a decision's sample to a new instance serving (boot + 1), and the load a
    decision at each step had seen (that lag back; NaN before the trace)."""
    spec = scn.spec
    required = np.minimum(required_instances(scn.load, scn.service, spec.max_size), spec.max_size)
    oracle = run_policy(scn, "oracle", required).score.instance_hours
    table = slo_capacity(
        scn.service.mu, scn.service.slo_seconds, spec.max_size, scn.service.quantile
    )
    lag = math.ceil(scn.spec.boot_delay / scn.step) + 1
    return required, oracle, table, lag, pd.Series(scn.load).shift(lag)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", default=None, help="CSV trace (default: the NASA week)")
    ap.add_argument("--budget", type=float, default=1.0, help="violating steps, %%")
    ap.add_argument("--boot-delay", default="2m")
    args = ap.parse_args()
    try:
        boot = parse_duration(args.boot_delay)
        trace = load_trace(args.trace)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = Config(groups=[default_group()])
    scn = build_scenario(trace, cfg, boot_delay=boot)
    spec = scn.spec
    required, oracle, table, _, past = hindsight_inputs(scn)
    hours = scn.step / timedelta(hours=1)
    load = pd.Series(scn.load)
    per_day = round(timedelta(days=1) / scn.step)
    day_ago = load.shift(per_day).fillna(0.0)
    windows = (2, 6, 12, 24) if scn.step >= timedelta(minutes=5) else (5, 10, 30, 60)
    rules: dict[str, pd.Series] = {}
    for w in windows:
        mx = past.rolling(w, min_periods=1).max()
        rules[f"max of {w}"] = mx
        rules[f"max of {w} or a day ago"] = np.maximum(mx, day_ago)
        m = past.rolling(w, min_periods=2).mean()
        sd = past.rolling(w, min_periods=2).std().fillna(0.0)
        for k in (0.5, 1, 2):
            rules[f"mean of {w} + {k:g} sd"] = m + k * sd
    print(f"{trace.name}: {len(scn.load)} steps, boot {args.boot_delay}, budget {args.budget:g} %")
    print(f"oracle {oracle:.0f} instance-hours")
    found = []
    for name, base in rules.items():
        res = tune(base.to_numpy(), required, args.budget, table, spec.max_size)
        if res is None:
            continue
        h, viol, prov = res
        found.append((prov.sum() * hours, name, h, viol))
    found.sort()
    for ih, name, h, viol in found[:8]:
        print(f"  {name:<28} h {h:5.2f}  {viol:5.2f} %  {ih:7.0f} ih  {ih / oracle:.3f}x oracle")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
