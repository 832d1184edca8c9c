"""CPU and memory for GPU jobs, and the speed they run at with it.

* ``request``: the job gets what the trace says it asked for and runs at the trace's
  speed (rate 1; the fragmentation experiments' model).
* ``proportional``: the GPU share of the node's CPU and memory (node x job GPUs / node
  GPUs); its speed is its Synergy profile's rate there (``synergy_profiles.py``).
* ``synergy``, as Synergy-Tune does: the job is guaranteed (and holds in the cluster
  state) only the cheapest point of its profile that runs at least as fast as its
  proportional share, which is *less* than that share for jobs the table says do not
  care (language models: 1 CPU, 20.8 GB per GPU); on top of it, it may hold extra CPU
  and memory up to the point where the table stops paying. Extras are lent, not owned:
  they are reclaimed (down to the guaranteed point, latest job first) whenever another
  job needs them to fit, and handed out again when a node frees resources
  (``tuning.py``).

A job's trace duration is its work at rate 1, the authors' GPU-proportional share on
their servers; at rate r it takes duration / r. CPU-only pods always get their request.
The table's points are ordered once per profile (``Ladder``), so that choosing a grant
is a short scan, not a search of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.simulator.gpu.synergy_profiles import GB_TO_MIB, JobProfile

ALLOCATIONS = ("request", "proportional", "synergy")
PROFILED_MODES = ("proportional", "synergy")
# Authors' GPU-proportional share per GPU: the unit in which point costs are compared.
_SHARE_CPUS, _SHARE_GB = 3.0, 62.5
_EPS = 1e-12


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


@dataclass(frozen=True, slots=True, eq=False)
class Ladder:
    """Every table point of one profile for a job of some GPU count, as grants,
    fastest first and, among equally fast points, cheapest first (CPU plus memory in
    units of the authors' proportional share)."""

    points: tuple[Grant, ...]


def check_mode(mode: str) -> None:
    """Raise ValueError for an unknown allocation mode."""
    if mode not in ALLOCATIONS:
        raise ValueError(f"unknown allocation {mode!r} (choose from {', '.join(ALLOCATIONS)})")


def ladder(prof: JobProfile, gpus: float) -> Ladder:
    """The ordered points of ``prof`` for a job of ``gpus`` GPUs."""
    cpus = np.repeat(prof.cpus, len(prof.mem_gb))
    mems = np.tile(prof.mem_gb, len(prof.cpus))
    rate = prof.rate.ravel()
    cost = cpus / _SHARE_CPUS + mems / _SHARE_GB
    order = np.lexsort((cost, -rate))
    return Ladder(
        tuple(
            Grant(int(cpus[i] * 1000 * gpus), int(mems[i] * GB_TO_MIB * gpus), float(rate[i]))
            for i in order
        )
    )


def fastest_within(
    lad: Ladder, cpu_cap: int, mem_cap: int, held: Grant, current: Grant | None = None
) -> Grant:
    """The fastest point (cheapest on ties) with at least ``held``'s CPU and memory and
    at most ``cpu_cap``/``mem_cap``; ``current`` instead when that is not faster than
    it (so an unchanged grant is returned as the same object), ``held`` when no point
    fits."""
    floor = held if current is None else current
    for p in lad.points:
        if p.rate <= floor.rate + _EPS:
            break
        if held.cpu <= p.cpu <= cpu_cap and held.mem <= p.mem <= mem_cap:
            return p
    return floor


def proportional_grant(prof: JobProfile, shape: NodeShape, gpus: float) -> Grant:
    """The GPU-proportional share and the profile's rate at it."""
    cpu, mem = shape.share(gpus)
    per_gpu_cpu = cpu / 1000 / gpus
    per_gpu_mem = mem / GB_TO_MIB / gpus
    return Grant(cpu, mem, prof.rate_at(per_gpu_cpu, per_gpu_mem))


def synergy_minimum(prof: JobProfile, shape: NodeShape, gpus: float) -> Grant:
    """The cheapest table point at least as fast as the proportional share (or the
    share itself when the table has no cheaper one)."""
    fair = proportional_grant(prof, shape, gpus)
    ok = [
        p
        for p in ladder(prof, gpus).points
        if p.rate >= fair.rate - _EPS and p.cpu <= fair.cpu and p.mem <= fair.mem
    ]
    if not ok:
        return fair
    cost = [p.cpu / max(fair.cpu, 1) + p.mem / max(fair.mem, 1) for p in ok]
    best = min(range(len(ok)), key=lambda i: (cost[i], -ok[i].rate))
    return ok[best]
