"""Time mode on the openb default trace: FIFO vs SJF vs preemptive priority, with and
without migration, and GPU-proportional vs sensitivity-aware CPU allocation.

On the paper's full 1,523-node cluster the trace never queues (at most 66 of 6,212 GPUs
are busy at once), so this runs it on etc/gpu-fleet-small.yaml (8 x 8 V100 plus two CPU
nodes, two tenants with 40-GPU quotas) with arrivals sped up x2 (durations unchanged).

Usage: .venv/bin/python bench/gpu_fleet_time.py [SPEEDUP] [DATA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from autoscaler.simulator.gpu.fleet import load_fleet
from autoscaler.simulator.gpu.pods import load_pods
from autoscaler.simulator.gpu.report import time_table
from autoscaler.simulator.gpu.time_replay import TimeConfig, run_time


def main() -> None:
    speedup = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    data = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("../shared/data/alibaba-gpu-v2023")
    fleet = load_fleet(Path(__file__).resolve().parents[1] / "etc" / "gpu-fleet-small.yaml")
    pods = load_pods(data / "openb_pod_list_default.csv")
    print(f"{fleet.size} nodes / {fleet.total_gpus} GPUs, {len(pods)} pods, arrivals x{speedup:g}")
    runs = [
        run_time(fleet, pods, TimeConfig(scheduler=s, migration=m, arrival_speedup=speedup))
        for s in ("fifo", "sjf", "priority")
        for m in (False, True)
    ]
    print(time_table(runs))
    print()
    print("CPU allocation for GPU jobs (fifo, no migration):")
    alloc = [
        run_time(fleet, pods, TimeConfig(allocation=a, arrival_speedup=speedup))
        for a in ("request", "proportional", "sensitive")
    ]
    print(time_table(alloc))
    prop, sens = alloc[1], alloc[2]
    mean_ratio = sens.jct_stat("mean") / prop.jct_stat("mean")
    p95_ratio = sens.jct_stat("p95") / prop.jct_stat("p95")
    print(f"sensitive vs proportional: mean JCT {mean_ratio:.3f}x, p95 {p95_ratio:.3f}x")
    print("wall seconds per run: " + ", ".join(f"{r.wall_seconds:.1f}" for r in runs + alloc))


if __name__ == "__main__":
    main()
