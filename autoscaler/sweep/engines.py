"""Running sweep cells: one by one, on a local process pool, or on Ray.

Every engine calls the same ``run_cell`` and returns the rows in cell order, so the
table does not depend on where or in which order the cells ran.

What a parallel engine adds to the serial run is measured by ``bench/sweep_speed.py``
(2 cores, 40 cells of about 20 ms each on the bundled week at a 20-minute step):

* start-up in each worker: importing the simulator is about 0.5 CPU-s, many times a
  cell. The pool's workers are forked from a parent that has imported it and loaded
  every trace of the grid (``preload``); Ray's workers, separate processes, get the
  loaded traces from the object store (one ``ray.put`` per trace, not one parse per
  worker) and keep their imports between tasks.
* the tail: cells go out in guided chunks (``guided_chunks``): large runs of
  consecutive cells first, for few tasks, then smaller and smaller ones, down to one
  cell, so that the workers finish within about a cell of each other.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from autoscaler.sweep.grid import Cell

ENGINES = ("auto", "serial", "pool", "ray")
# Each chunk is at most the remaining cells over this many times the workers.
GUIDED_FACTOR = 2

TraceKey = tuple[str | None, str | None]  # (config path, trace path) of a cell
_LOADED: dict[TraceKey, Any] = {}  # this process' loaded configs and traces


def _key(cell: Cell) -> TraceKey:
    return (cell.config, cell.trace_path)


def _trace(config: str | None, trace_path: str | None) -> Any:
    """The (config, trace) of a cell, loaded once per process."""
    key = (config, trace_path)
    if key not in _LOADED:
        from autoscaler.config import Config, load_config
        from autoscaler.traces import load_trace

        cfg = load_config(config) if config else Config()
        sim = cfg.simulation
        path = trace_path or sim.trace
        trace = load_trace(path, column=sim.column, step=sim.step, fill=sim.fill, resample=sim.step)
        _LOADED[key] = (cfg, trace)
    return _LOADED[key]


def preload(cells: Sequence[Cell], *, imports: bool = True) -> dict[TraceKey, Any]:
    """Load every config and trace the cells use, here (and import the simulator)."""
    if imports:
        import autoscaler.simulation  # noqa: F401  (what every cell imports)
    return {k: _trace(*k) for k in dict.fromkeys(_key(c) for c in cells)}


def run_cell(cell: Cell) -> dict[str, Any]:
    """One ``simulate`` run of one policy; the row of the results table."""
    from autoscaler.config import GroupConfig
    from autoscaler.simulation import build_scenario, simulate
    from autoscaler.sweep.frontier import apply_variant, parse_variant

    cfg, trace = _trace(cell.config, cell.trace_path)
    group = cfg.groups[0] if cfg.groups else GroupConfig(name="web")
    group = group.model_copy(update={"max_size": cell.budget})
    policy = cell.policy
    variant = parse_variant(policy)
    if variant is not None:  # target@0.4, qos@1: that one setting on the group
        group, policy = apply_variant(group, variant), variant.kind
    cfg = cfg.model_copy(update={"groups": [group, *cfg.groups[1:]]})
    scn = build_scenario(
        trace,
        cfg,
        peak_instances=cell.peak_instances,
        seed=cell.seed,
        boot_delay=timedelta(seconds=cell.boot_delay_s),
    )
    score = simulate(scn, [policy]).summary()["policies"][policy]
    score.pop("wall_seconds", None)  # how long it took is not a result
    return {
        "cell": cell.index,
        "trace": cell.trace,
        "policy": cell.policy,
        "boot_delay_s": cell.boot_delay_s,
        "budget": cell.budget,
        "seed": cell.seed,
        **score,
    }


def run_chunk(cells: Sequence[Cell], *loaded: tuple[TraceKey, Any]) -> list[dict[str, Any]]:
    """Several cells in one task: their rows, in order. ``loaded``: (key, (config,
    trace)) pairs already loaded elsewhere (Ray hands them over from its object store)."""
    _LOADED.update(loaded)
    return [run_cell(c) for c in cells]


def guided_chunks(cells: Sequence[Cell], workers: int) -> list[Sequence[Cell]]:
    """Consecutive runs of cells, each at most the cells left over ``GUIDED_FACTOR``
    times the workers: few large tasks first, then smaller ones down to one cell."""
    out, i, w = [], 0, max(1, workers)
    while i < len(cells):
        size = max(1, (len(cells) - i) // (GUIDED_FACTOR * w))
        out.append(cells[i : i + size])
        i += size
    return out


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def run_cells(
    cells: Sequence[Cell],
    engine: str = "auto",
    *,
    workers: int | None = None,
    address: str | None = None,
    chunk: int | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Run every cell on ``engine``; returns (the engine used, rows in cell order).
    ``chunk``: cells per task on the pool and Ray (default: ``guided_chunks``)."""
    if engine == "auto":
        engine = "ray" if ray_available() else "pool"
    n = workers or os.cpu_count() or 1
    if engine == "serial":
        return engine, [run_cell(c) for c in cells]
    if engine == "pool":
        return engine, _run_on_pool(cells, min(n, max(1, len(cells))), chunk)
    if engine == "ray":
        return engine, _run_on_ray(cells, n, address, chunk)
    raise ValueError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")


def _parts(cells: Sequence[Cell], workers: int, chunk: int | None) -> list[Sequence[Cell]]:
    if chunk is None:
        return guided_chunks(cells, workers)
    return [cells[i : i + chunk] for i in range(0, len(cells), max(1, chunk))]


def _run_on_pool(cells: Sequence[Cell], workers: int, chunk: int | None) -> list[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Forked workers inherit what the parent loaded; spawned ones load it themselves.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    if context.get_start_method() == "fork":
        preload(cells)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_chunk, part) for part in _parts(cells, workers, chunk)]
        return [row for f in futures for row in f.result()]


@functools.cache
def _ray_task() -> Any:
    """``run_chunk`` as a Ray task, made once per process: Ray ships a function's code to
    the workers when it is first called on a cluster, not on every sweep."""
    import ray

    return ray.remote(num_cpus=1)(run_chunk)


def _run_on_ray(
    cells: Sequence[Cell], workers: int, address: str | None, chunk: int | None
) -> list[dict[str, Any]]:
    import ray

    started = False
    if not ray.is_initialized():
        # Joining a cluster uses its CPUs; a local Ray gets ``workers`` of ours.
        kwargs: dict[str, Any] = (
            {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        )
        ray.init(log_to_driver=False, **kwargs)
        started = True
    try:
        # The tasks spread over all the CPUs of the cluster (a local one has ``workers``).
        cpus = int(ray.cluster_resources().get("CPU", workers))
        # Each config and trace is loaded once, here, and read from the object store.
        refs = {k: ray.put((k, v)) for k, v in preload(cells, imports=False).items()}
        task = _ray_task()
        futures = [
            task.remote(part, *(refs[k] for k in dict.fromkeys(_key(c) for c in part)))
            for part in _parts(cells, cpus, chunk)
        ]
        return [row for part in ray.get(futures) for row in part]
    finally:
        if started:
            ray.shutdown()
