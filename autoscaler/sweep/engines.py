"""Running sweep cells: one by one, on a local process pool, or on Ray.

Every engine calls the same ``run_cell`` and returns the rows in cell order, so the
table does not depend on where or in which order the cells ran.

A cell is small (tens of milliseconds on the bundled week), so the parallel engines
hand cells out in runs of consecutive ones (``chunk_size``): measured on two cores
(``bench/sweep_speed.py``), one Ray task per cell took 1.5x the serial run's CPU time,
in chunks 1.3x; a few tasks per worker still keep the load balanced.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from autoscaler.sweep.grid import Cell

ENGINES = ("auto", "serial", "pool", "ray")
TASKS_PER_WORKER = 4  # enough for the load to balance, few enough to cost little


@lru_cache(maxsize=8)
def _trace(config: str | None, trace_path: str | None) -> Any:
    from autoscaler.config import Config, load_config
    from autoscaler.traces import load_trace

    cfg = load_config(config) if config else Config()
    sim = cfg.simulation
    path = trace_path or sim.trace
    return cfg, load_trace(path, column=sim.column, step=sim.step, fill=sim.fill, resample=sim.step)


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


def run_chunk(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """Several cells in one task: their rows, in order."""
    return [run_cell(c) for c in cells]


def chunk_size(cells: int, workers: int) -> int:
    """Cells per task: about ``TASKS_PER_WORKER`` tasks for each worker."""
    return max(1, -(-cells // (max(1, workers) * TASKS_PER_WORKER)))


def chunks(cells: Sequence[Cell], size: int) -> list[Sequence[Cell]]:
    return [cells[i : i + size] for i in range(0, len(cells), size)]


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
    ``chunk``: cells per task on the pool and Ray (default: ``chunk_size``)."""
    if engine == "auto":
        engine = "ray" if ray_available() else "pool"
    n = workers or os.cpu_count() or 1
    if engine == "serial":
        return engine, [run_cell(c) for c in cells]
    if engine == "pool":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(n, max(1, len(cells)))) as pool:
            size = chunk or chunk_size(len(cells), n)
            return engine, list(pool.map(run_cell, cells, chunksize=size))
    if engine == "ray":
        return engine, _run_on_ray(cells, n, address, chunk)
    raise ValueError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")


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
        task = ray.remote(num_cpus=1)(run_chunk)
        size = chunk or chunk_size(len(cells), cpus)
        parts = ray.get([task.remote(c) for c in chunks(cells, size)])
        return [row for part in parts for row in part]
    finally:
        if started:
            ray.shutdown()
