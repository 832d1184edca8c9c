"""CPU and memory for GPU jobs, and the speed they run at with it.

* ``request``: the job gets what the trace says it asked for and runs at the trace's
  speed (rate 1; the fragmentation experiments' model).
* ``proportional``: the GPU share of the node's CPU and memory (node x job GPUs / node
  GPUs); its speed is its Synergy profile's rate there (``synergy_profiles.py``).
* ``synergy``: as Synergy-Tune does, greedily: the job must find the cheapest point of
  its profile that runs at least as fast as its proportional share (so no job is slower
  than under ``proportional``), then takes more CPU and memory up to the point where the
  table stops paying, from what the node has free beyond the proportional share kept
  for each of its idle GPUs (so the next job still finds its share). When a node frees
  resources its jobs are tuned up again (``best_within``).

A job's trace duration is its work at rate 1, the authors' GPU-proportional share on
their servers; at rate r it takes duration / r. CPU-only pods always get their request.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.simulator.gpu.synergy_profiles import GB_TO_MIB, JobProfile

ALLOCATIONS = ("request", "proportional", "synergy")
PROFILED_MODES = ("proportional", "synergy")


@dataclass(frozen=True, slots=True)
class Grant:
    """CPU (milli) and memory (MiB) given to a job, and its speed with them."""

    cpu: int
    mem: int
    rate: float


@dataclass(frozen=True, slots=True)
class NodeShape:
    """A node's capacity: CPU milli, memory MiB, GPUs."""

    cpu: int
    mem: int
    gpus: int

    def share(self, gpu_fraction: float) -> tuple[int, int]:
        """GPU-proportional (CPU milli, memory MiB) for ``gpu_fraction`` GPUs."""
        if self.gpus <= 0:
            return 0, 0
        return int(self.cpu * gpu_fraction / self.gpus), int(self.mem * gpu_fraction / self.gpus)


def check_mode(mode: str) -> None:
    """Raise ValueError for an unknown allocation mode."""
    if mode not in ALLOCATIONS:
        raise ValueError(f"unknown allocation {mode!r} (choose from {', '.join(ALLOCATIONS)})")


def _points(prof: JobProfile, gpus: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every table point as (CPU milli, memory MiB, rate) for a job of ``gpus`` GPUs."""
    cpu = np.repeat(prof.cpus, len(prof.mem_gb)) * 1000 * gpus
    mem = np.tile(prof.mem_gb, len(prof.cpus)) * GB_TO_MIB * gpus
    return cpu.astype(np.int64), mem.astype(np.int64), prof.rate.ravel()


def proportional_grant(prof: JobProfile, shape: NodeShape, gpus: float) -> Grant:
    """The GPU-proportional share and the profile's rate at it."""
    cpu, mem = shape.share(gpus)
    per_gpu_cpu = cpu / 1000 / gpus
    per_gpu_mem = mem / GB_TO_MIB / gpus
    return Grant(cpu, mem, prof.rate_at(per_gpu_cpu, per_gpu_mem))


def best_within(
    prof: JobProfile, gpus: float, cpu_budget: int, mem_budget: int, floor: Grant
) -> Grant:
    """The fastest table point within the budget (cheapest on ties, cost = CPU plus
    memory as fractions of the floor's); ``floor`` (what the job holds) unless faster."""
    cpu, mem, rate = _points(prof, gpus)
    ok = (cpu <= cpu_budget) & (mem <= mem_budget) & (rate >= floor.rate - 1e-12)
    if not ok.any():
        return floor
    cost = cpu / max(floor.cpu, 1) + mem / max(floor.mem, 1)
    idx = np.flatnonzero(ok)
    best = idx[np.lexsort((cost[idx], -rate[idx]))[0]]
    if rate[best] <= floor.rate + 1e-12:
        return floor
    return Grant(int(cpu[best]), int(mem[best]), float(rate[best]))


def synergy_minimum(prof: JobProfile, shape: NodeShape, gpus: float) -> Grant:
    """The cheapest table point at least as fast as the proportional share (or the
    share itself when the table has no cheaper one)."""
    fair = proportional_grant(prof, shape, gpus)
    cpu, mem, rate = _points(prof, gpus)
    ok = (rate >= fair.rate - 1e-12) & (cpu <= fair.cpu) & (mem <= fair.mem)
    if not ok.any():
        return fair
    cost = cpu / max(fair.cpu, 1) + mem / max(fair.mem, 1)
    idx = np.flatnonzero(ok)
    best = idx[np.lexsort((-rate[idx], cost[idx]))[0]]
    return Grant(int(cpu[best]), int(mem[best]), float(rate[best]))
