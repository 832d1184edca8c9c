"""Speed and memory of fragmentation mode on the FGD paper's full setup.

One run per placement policy: the openb cluster (1,523 nodes, 6,212 GPUs) and the
default trace (8,152 pods) inflated to 130 % of GPU capacity. Prints wall seconds per
run and the peak RSS, against the goal (<= 20 s a run, <= 1 GB) and against a
baseline measured here: FGD with its per-node memo switched off (every feasible node
rescored for every pod), timed on the first pods of the same submission order.
The paper's Go simulator takes about 10 minutes a run on 2 vCPUs (their figure, not
measured here).

Usage: .venv/bin/python bench/gpu_fleet_speed.py [DATA_DIR]
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

from autoscaler.simulator.gpu.fleet import load_node_csv
from autoscaler.simulator.gpu.frag_replay import requests_for, run_fragmentation, submission_order
from autoscaler.simulator.gpu.fragmentation import typical_pods
from autoscaler.simulator.gpu.placement import POLICY_NAMES, FgdPolicy
from autoscaler.simulator.gpu.pods import load_pods
from autoscaler.simulator.gpu.state import ClusterState

GOAL_SECONDS = 20.0
GOAL_RSS_MB = 1024.0
GO_SIMULATOR_SECONDS = 600.0
BASELINE_PODS = 400


def _fgd_seconds_per_pod(fleet, pods, tp, memo: bool, n: int) -> float:
    reqs = requests_for(pods, fleet.models)
    order = submission_order(pods, fleet.total_gpus * 1000, 130, np.random.default_rng(42))
    placer, state, rng = FgdPolicy(tp, memo=memo), ClusterState(fleet), np.random.default_rng(42)
    started = time.perf_counter()
    for i in order[:n]:
        where = placer.place(reqs[i], state, rng)
        if where is not None:
            state.bind(where, reqs[i].cpu, reqs[i].mem, reqs[i].gpu_milli)
    return (time.perf_counter() - started) / n


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/alibaba-gpu-v2023")
    fleet = load_node_csv(data / "openb_node_list_all_node.csv")
    pods = load_pods(data / "openb_pod_list_default.csv")
    tp = typical_pods(pods, fleet.models)
    print(f"fleet {fleet.size} nodes / {fleet.total_gpus} GPUs; trace {len(pods)} pods; load 130 %")
    print(f"{'policy':<16}{'pods':>7}{'wall s':>9}{'goal s':>8}{'vs Go ~600 s':>14}")
    walls = {}
    for name in POLICY_NAMES:
        run = run_fragmentation(fleet, pods, name, 42, 130, tp)
        walls[name] = run.wall_seconds
        print(
            f"{name:<16}{run.submitted:>7}{run.wall_seconds:>9.2f}{GOAL_SECONDS:>8.0f}"
            f"{GO_SIMULATOR_SECONDS / run.wall_seconds:>13.0f}x"
        )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss_mb:.0f} MB (goal <= {GOAL_RSS_MB:.0f} MB)")
    memo = _fgd_seconds_per_pod(fleet, pods, tp, True, BASELINE_PODS)
    plain = _fgd_seconds_per_pod(fleet, pods, tp, False, BASELINE_PODS)
    print(
        f"fgd on the first {BASELINE_PODS} pods: {memo * 1e3:.2f} ms/pod with the per-node memo, "
        f"{plain * 1e3:.2f} ms/pod rescoring every node (baseline): {plain / memo:.1f}x"
    )
    slowest = max(walls, key=walls.__getitem__)
    ok = walls[slowest] <= GOAL_SECONDS and rss_mb <= GOAL_RSS_MB
    print(f"slowest: {slowest} {walls[slowest]:.2f} s -> goal {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
