"""Benchmark: a 40-cell ``autoscaler sweep`` grid serially, on a process pool and on Ray.

Grid: 2 policies x 5 boot delays x 2 budgets x 2 seeds on the bundled NASA week at the
default 1-minute step (about 65 ms a cell; ``--step 20m``: about 20 ms). Serial is the baseline measured in the same run;
the pool and Ray use ``--workers`` (default 2, the cores this machine gives us). Serial
and the pool run before Ray is started (its daemons would count against them); then Ray
is timed once with ``ray.init`` (a cold local cluster), then on the started cluster in
guided chunks (as ``autoscaler sweep`` runs them) and with one cell per task. Each warm
engine runs ``--repeat`` times, interleaved; the best run counts. Every engine's table
is checked equal to the serial one. Goal: at least 1.8x over serial.

Wall time on a shared machine mostly measures the other jobs, so it also prints, from
``/proc``, each engine's CPU time (the process and its descendants,
the pool's workers and Ray's daemons included), the time its threads queued for a CPU,
and an idle-machine estimate: the engine's wall time with its cores to itself is at
least its CPU time over the cores, and at least its busiest worker's CPU time plus the
driver's and a share of Ray's daemons (what runs beside the workers); the serial run's
is its CPU time. ``idle est.`` is the serial estimate over the engine's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proc_cpu import ProcCpu, _reaped_cpu, snapshot  # noqa: E402

from autoscaler.durations import format_duration, parse_duration  # noqa: E402
from autoscaler.sweep.engines import ray_available, run_cells  # noqa: E402
from autoscaler.sweep.grid import load_grid  # noqa: E402
from autoscaler.sweep.table import to_csv  # noqa: E402

CONFIG = """\
simulation: {{step: {step}}}
groups:
  - {{name: web, min_size: 1, max_size: 20, capacity_per_instance: 100, stale_after: {stale}}}
"""
GRID = """\
config: cfg.yaml
policies: [threshold, target]
boot_delays: [60s, 3m, 5m, 10m, 15m]
budgets: [12, 20]
seeds: [1, 2]
peak_instances: 10
"""


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # all processes
    queued: float
    idle_wall: float  # the estimate with the cores to itself


class Sampler:
    """Every process of this tree, from ``/proc``, over the block: what each ran and
    queued. With ``period`` it is also sampled that often while the block runs (the
    pool's workers are gone, reaped, by the time the engine returns: their last sample
    stands for them); the sampling thread's own CPU time is not counted."""

    def __init__(self, period: float | None = None) -> None:
        self.period = period
        self._stop = threading.Event()
        self._own = 0.0
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self.reaped = _reaped_cpu()
        self.first = snapshot()
        self.last = dict(self.first)
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        if self.period is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        assert self.period is not None
        while not self._stop.wait(self.period):
            self.last.update(snapshot())
        self._own = time.thread_time()

    def stop(self) -> dict[int, ProcCpu]:
        self.wall = time.perf_counter() - self.t0
        own_cpu = time.process_time() - self.cpu0  # with threads that ended meanwhile
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.last.update(snapshot())
        self.reaped = _reaped_cpu() - self.reaped  # exact, for the children reaped
        out = {}
        for pid, p in self.last.items():
            b = self.first.get(pid)
            if b is not None and b.name != p.name:
                b = None
            # /proc sums the threads alive now: this process' own CPU comes from its clock.
            on = own_cpu - self._own if pid == os.getpid() else p.on_cpu - (b.on_cpu if b else 0)
            out[pid] = ProcCpu(p.name, on, max(0.0, p.queued - (b.queued if b else 0)))
        return out

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def account(
    used: dict[int, ProcCpu], wall: float, cores: int, engine: str, reaped: float = 0.0
) -> Run:
    me = os.getpid()
    cpu = sum(p.on_cpu for p in used.values())
    queued = sum(p.queued for p in used.values())
    if engine == "serial":
        return Run(wall, cpu, queued, cpu)
    driver = used[me].on_cpu if me in used else 0.0
    if engine == "ray":
        workers = [p.on_cpu for p in used.values() if p.name.startswith("ray::")]
    else:  # the pool's workers, forked (named as this process) and reaped by now: their
        # CPU time in all is exact (rusage), how it was split comes from the samples.
        workers = [p.on_cpu for pid, p in used.items() if pid != me and p.name == used[me].name]
        scale = reaped / sum(workers) if sum(workers) > 0 else 1.0
        workers = [w * scale for w in workers]
        cpu = driver + reaped
    others = cpu - driver - sum(workers)  # Ray's daemons
    critical = max(workers, default=0.0) + driver + others / cores
    return Run(wall, cpu, queued, max(cpu / cores, critical))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--step",
        default="1m",
        help="the simulation step: 1m (the default of simulate and sweep; ~65 ms a cell) "
        "or 20m (~20 ms a cell, where the engines' fixed costs weigh most)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        # samples a step apart are read a step old: not stale at a coarse step
        stale = max(parse_duration(args.step), timedelta(minutes=5))
        (Path(d) / "cfg.yaml").write_text(
            CONFIG.format(step=args.step, stale=format_duration(stale))
        )
        (Path(d) / "grid.yaml").write_text(GRID)
        measure(load_grid(Path(d) / "grid.yaml"), args.workers, args.repeat, args.step)


def measure(cells: list, workers: int, repeat: int, step: str) -> None:
    """Each engine ``repeat`` times, interleaved, keeping each one's best: on a shared
    machine the least disturbed run is the nearest to the engine's own cost."""
    print(
        f"{len(cells)} cells, {workers} workers, best of {repeat}, step {step}; "
        f"{len(os.sched_getaffinity(0))} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    run_cells(cells[:2], "serial")  # imports and the trace, which every engine shares
    runs: dict[str, list[Run]] = {}
    tables: list[str] = []

    def timed(name: str, engine: str, **kw: object) -> None:
        with Sampler(0.05 if engine == "pool" else None) as s:
            _, rows = run_cells(cells, engine, **kw)  # type: ignore[arg-type]
            used = s.stop()  # before Ray's processes could go
        runs.setdefault(name, []).append(account(used, s.wall, workers, engine, s.reaped))
        tables.append(to_csv(rows))

    for _ in range(repeat):
        timed("serial", "serial")
        timed("process pool", "pool", workers=workers)
    if ray_available():
        import ray

        with Sampler() as s:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            run_cells(cells, "ray")
            used = s.stop()
        runs["ray (with ray.init)"] = [account(used, s.wall, workers, "ray")]
        for _ in range(repeat):
            timed("ray (cluster up)", "ray")
            timed("ray, 1 cell per task", "ray", chunk=1)
        ray.shutdown()
    else:
        print("ray: not installed (the 'sweep' extra); skipped")
    assert len(set(tables)) == 1, "an engine's table differs from the serial one"
    report(runs)


def report(runs: dict[str, list[Run]]) -> None:
    serial = min(runs["serial"], key=lambda r: r.wall)
    base_idle = min(r.idle_wall for r in runs["serial"])
    print(
        f"{'engine':<22}{'wall s':>8}{'vs serial':>11}{'CPU s':>8}{'CPU vs serial':>15}"
        f"{'queued s':>10}{'idle est. s':>13}{'idle est.':>11}"
    )
    for name, rs in runs.items():
        best = min(rs, key=lambda r: r.wall)
        cpu = min(r.cpu for r in rs)
        idle = min(r.idle_wall for r in rs)
        print(
            f"{name:<22}{best.wall:>8.2f}{serial.wall / best.wall:>10.2f}x{cpu:>8.2f}"
            f"{cpu / serial.cpu:>14.2f}x{best.queued:>10.1f}{idle:>13.2f}"
            f"{base_idle / idle:>10.2f}x"
        )
    print(
        "idle est.: the serial run's CPU time over the engine's least possible wall time "
        "on idle cores (its CPU over the cores, or its busiest worker plus the driver and "
        "a share of Ray's daemons, whichever is more); wall time on a shared machine is "
        "mostly the other load. Goal: 1.8x."
    )
    print("tables identical to serial: yes")


if __name__ == "__main__":
    main()
