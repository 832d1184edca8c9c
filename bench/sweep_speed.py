"""Benchmark: a 40-cell ``autoscaler sweep`` grid serially, on a process pool and on Ray.

Grid: 2 policies x 5 boot delays x 2 budgets x 2 seeds on the bundled NASA week at a
20-minute step. Serial is the baseline measured in the same run; the pool and Ray use
``--workers`` (default 2, the cores this machine gives us). Ray is timed once with
``ray.init`` (a cold local cluster), then on the started cluster with the cells in
chunks (as ``autoscaler sweep`` runs them) and one cell per task (as it ran before).
Each warm engine runs ``--repeat`` times, interleaved; the best run counts. Every
engine's table is checked equal to the serial one. Goal: at least 1.8x over serial.

Besides wall time it prints each engine's CPU time (``proc_cpu``: the process and its
descendants, Ray's daemons included), which shows its overhead over the serial run, and
the time it waited for a CPU, which shows how much of the wall time was other load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proc_cpu import CpuMeter  # noqa: E402

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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "cfg.yaml").write_text(CONFIG)
        (Path(d) / "grid.yaml").write_text(GRID)
        measure(load_grid(Path(d) / "grid.yaml"), args.workers, args.repeat)


def measure(cells: list, workers: int, repeat: int) -> None:
    """Each engine ``repeat`` times, interleaved, keeping each one's best: on a shared
    machine the least disturbed run is the nearest to the engine's own cost."""
    print(f"{len(cells)} cells, {workers} workers, best of {repeat}", flush=True)
    run_cells(cells[:2], "serial")  # imports and the trace, which every engine shares
    runs: dict[str, list[CpuMeter]] = {}
    tables: list[str] = []

    def timed(name: str, engine: str, **kw: object) -> None:
        with CpuMeter() as m:
            _, rows = run_cells(cells, engine, **kw)  # type: ignore[arg-type]
            m.stop()  # before Ray's processes could go
        runs.setdefault(name, []).append(m)
        tables.append(to_csv(rows))

    ray = None
    if ray_available():
        import ray

        with CpuMeter() as m:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            run_cells(cells, "ray")
            m.stop()
        runs["ray (with ray.init)"] = [m]
    else:
        print("ray: not installed (the 'sweep' extra); skipped")
    for _ in range(repeat):
        timed("serial", "serial")
        timed("process pool", "pool", workers=workers)
        if ray is not None:
            timed("ray (cluster up)", "ray")
            timed("ray, 1 cell per task", "ray", chunk=1)  # how it ran before
    if ray is not None:
        ray.shutdown()
    assert len(set(tables)) == 1, "an engine's table differs from the serial one"
    best = [
        (name, min(ms, key=lambda m: m.wall), min(m.on_cpu for m in ms))
        for name, ms in runs.items()
    ]
    serial = next(b for b in best if b[0] == "serial")
    report([serial, *(b for b in best if b[0] != "serial")], workers)


def report(rows: list[tuple[str, CpuMeter, float]], workers: int) -> None:
    """Wall time, and what wall time hides on a shared machine: the CPU each engine
    spent (its own work plus its overhead) and the time it queued for a CPU."""
    base, base_cpu = rows[0][1], rows[0][2]
    print(
        f"{'engine':<22}{'wall s':>8}{'vs serial':>11}{'CPU s':>8}{'CPU vs serial':>15}"
        f"{'queued s':>10}{'2-core est.':>13}"
    )
    for name, m, cpu in rows:
        # With the cores to itself the engine needs at least its CPU time spread over
        # its workers (serial: all of it on one).
        alone = cpu / (1 if name == "serial" else workers)
        # The pool's workers are gone (reaped) when it returns: their CPU time is known,
        # their queueing is not.
        queued = "-" if name == "process pool" else f"{m.queued:.1f}"
        print(
            f"{name:<22}{m.wall:>8.2f}{base.wall / m.wall:>10.2f}x{cpu:>8.2f}"
            f"{cpu / base_cpu:>14.2f}x{queued:>10}{base_cpu / alone:>12.2f}x"
        )
    print(
        "2-core est.: serial CPU time over the engine's CPU time per worker, the speedup "
        "with two idle cores and a perfect balance (an upper bound; wall time on a shared "
        "machine is mostly the other load)"
    )
    print("tables identical to serial: yes")


if __name__ == "__main__":
    main()
