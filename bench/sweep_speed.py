"""Benchmark: a 40-cell ``autoscaler sweep`` grid serially, on a process pool and on Ray.

Grid: 2 policies x 5 boot delays x 2 budgets x 2 seeds on the bundled NASA week at a
20-minute step. Serial is the baseline measured in the same run; the pool and Ray use
``--workers`` (default 2, the cores this machine gives us). Ray is timed twice: with
``ray.init`` (a cold local cluster) and on the already started cluster. Every engine's
table is checked equal to the serial one. Goal: at least 1.8x over serial.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoscaler.sweep.engines import ray_available, run_cells  # noqa: E402
from autoscaler.sweep.grid import load_grid  # noqa: E402
from autoscaler.sweep.table import to_csv  # noqa: E402

CONFIG = """\
simulation: {step: 20m}
groups:
  - {name: web, min_size: 1, max_size: 20, capacity_per_instance: 100}
"""
GRID = """\
config: cfg.yaml
policies: [threshold, target]
boot_delays: [60s, 3m, 5m, 10m, 15m]
budgets: [12, 20]
seeds: [1, 2]
peak_instances: 10
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "cfg.yaml").write_text(CONFIG)
        (Path(d) / "grid.yaml").write_text(GRID)
        measure(load_grid(Path(d) / "grid.yaml"), args.workers)


def measure(cells: list, workers: int) -> None:
    print(f"{len(cells)} cells, {workers} workers", flush=True)
    t = time.perf_counter()
    _, serial = run_cells(cells, "serial")
    base = time.perf_counter() - t
    rows = [("serial", base)]
    print(f"serial: {base:.1f}s", flush=True)
    t = time.perf_counter()
    _, pool = run_cells(cells, "pool", workers=workers)
    rows.append(("process pool", time.perf_counter() - t))
    assert to_csv(pool) == to_csv(serial), "the pool's table differs from the serial one"
    if ray_available():
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        _, on_ray = run_cells(cells, "ray")
        rows.append(("ray (with ray.init)", time.perf_counter() - t))
        t = time.perf_counter()
        _, again = run_cells(cells, "ray")
        rows.append(("ray (cluster up)", time.perf_counter() - t))
        ray.shutdown()
        assert to_csv(on_ray) == to_csv(serial) == to_csv(again), "Ray's table differs"
    else:
        print("ray: not installed (the 'sweep' extra); skipped")
    print(f"{'engine':<22}{'seconds':>9}{'vs serial':>11}")
    for name, secs in rows:
        print(f"{name:<22}{secs:>9.2f}{base / secs:>10.2f}x")
    print("tables identical to serial: yes")


if __name__ == "__main__":
    main()
