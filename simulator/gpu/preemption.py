"""Choosing whom to evict so that one waiting job fits on one node.

The caller says which running jobs may be evicted (the scheduler's rule, or borrowed
quota being returned) and in which order (first evicted first). For every node holding
such jobs, evict in that order until the waiting job fits; take the node that needs
the least GPU evicted (then the fewest jobs), so that preemption costs as little
service as it can. Nothing is changed here: the caller stops the victims.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from autoscaler.simulator.gpu.placement import PodRequest
from autoscaler.simulator.gpu.state import ClusterState
from autoscaler.simulator.gpu.time_jobs import TimeJob

if TYPE_CHECKING:
    from autoscaler.simulator.gpu.time_replay import Replay


def fits(
    state: ClusterState,
    req: PodRequest,
    node: int,
    cpu: int,
    mem: int,
    extra_cpu: int = 0,
    extra_mem: int = 0,
    extra_gpu: np.ndarray | None = None,
) -> bool:
    """Whether ``req`` (needing ``cpu``/``mem`` on ``node``) fits there once ``extra_*``
    more is free."""
    if state.cpu_left[node] + extra_cpu < cpu or state.mem_left[node] + extra_mem < mem:
        return False
    if req.num_gpu == 0:
        return True
    model = state.model_idx[node]
    if model < 0 or not req.models[model]:
        return False
    left = state.gpu_left[node] if extra_gpu is None else state.gpu_left[node] + extra_gpu
    return int((left >= req.gpu_milli).sum()) >= req.num_gpu


def choose_victims(
    state: ClusterState,
    req: PodRequest,
    need: Callable[[int], tuple[int, int]],
    candidates: Sequence[TimeJob],
) -> tuple[int, list[TimeJob]] | None:
    """(node, jobs to evict there, in order) so that ``req`` fits, or None.
    ``need(node)`` is the CPU and memory the job must find on that node; ``candidates``
    are running jobs in eviction order."""
    by_node: dict[int, list[TimeJob]] = {}
    for v in candidates:
        assert v.placement is not None
        by_node.setdefault(v.placement.node, []).append(v)
    best: tuple[tuple[int, int], int, list[TimeJob]] | None = None
    gpu_free = state.gpu_left.sum(axis=1) if by_node else None
    for node, victims in by_node.items():
        cpu, mem = need(node)
        assert gpu_free is not None
        if (  # even evicting all of them would not do: skip the node
            state.cpu_left[node] + sum(v.held.cpu for v in victims) < cpu
            or state.mem_left[node] + sum(v.held.mem for v in victims) < mem
            or gpu_free[node] + sum(v.req.total_gpu_milli for v in victims) < req.total_gpu_milli
        ):
            continue
        extra_gpu = np.zeros_like(state.gpu_left[node])
        extra_cpu = extra_mem = 0
        chosen: list[TimeJob] = []
        for v in victims:
            if fits(state, req, node, cpu, mem, extra_cpu, extra_mem, extra_gpu):
                break
            chosen.append(v)
            extra_cpu += v.held.cpu
            extra_mem += v.held.mem
            assert v.placement is not None
            for g in v.placement.gpus:
                extra_gpu[g] += v.req.gpu_milli
        if not chosen or not fits(state, req, node, cpu, mem, extra_cpu, extra_mem, extra_gpu):
            continue
        cost = (sum(v.req.total_gpu_milli for v in chosen), len(chosen))
        if best is None or cost < best[0]:
            best = (cost, node, chosen)
    return None if best is None else (best[1], best[2])


def return_quota(replay: Replay, j: TimeJob, owed: int, now: float) -> bool:
    """Evict jobs of partitions over their quota until ``owed`` milli is back (any
    node: the quota is owed wherever they run)."""
    borrowed = sorted(
        (
            v
            for v in replay.running.values()
            if v.partition != j.partition and replay.ledger.over_quota(v.partition)
        ),
        key=lambda v: -v.run_start,
    )
    for v in borrowed:
        if owed <= 0:
            break
        if replay.ledger.over_quota(v.partition):
            owed -= v.req.total_gpu_milli
            replay.preempt(v, now, "quota_returns")
    return owed <= 0


def _ranked(replay: Replay) -> list[tuple[float, TimeJob]]:
    """Running jobs as (primary key, job), largest key (lowest priority) first, cached
    per cluster or priority change (never for sjf, whose keys change as jobs run)."""
    stamp = (replay.releases, replay.binds, replay.prio_version)
    if replay.low_stamp != stamp or replay.order.scheduler == "sjf":
        primary = replay.order.primary
        replay.ranked = sorted(
            ((primary(v), v) for v in replay.running.values()), key=lambda kv: -kv[0]
        )
        replay.low_stamp = stamp
    return replay.ranked


def victims_for(replay: Replay, j: TimeJob, now: float) -> list[TimeJob]:
    """Running jobs ``j`` may evict, first evicted first: borrowed quota of other
    partitions (when ``j`` is inside its own), then the jobs ``j`` outranks."""
    order = replay.order
    if order.scheduler == "sjf":
        for v in replay.running.values():
            v.account(max(now, v.run_start))  # SRTF compares the work left now
    reclaim = replay.cfg.borrowing and replay.ledger.within_own(j.partition, j.req.total_gpu_milli)
    ranked = _ranked(replay)
    mine = order.primary(j)
    if not reclaim and (not ranked or mine >= ranked[0][0]):
        return []  # outranks nobody: skip the scan
    out = []
    for key, v in ranked if reclaim else ranked[: _outranked(ranked, mine)]:
        if reclaim and v.partition != j.partition and replay.ledger.over_quota(v.partition):
            out.append((0, v))
        elif replay.cfg.preempts and key > mine and order.outranks(j, v):
            out.append((1, v))
    out.sort(key=lambda kv: (kv[0], order.victim_rank(kv[1])))
    return [v for _, v in out]


def _outranked(ranked: list[tuple[float, TimeJob]], mine: float) -> int:
    """How many of ``ranked`` (largest key first) have a key above ``mine``."""
    lo, hi = 0, len(ranked)
    while lo < hi:
        mid = (lo + hi) // 2
        if ranked[mid][0] > mine:
            lo = mid + 1
        else:
            hi = mid
    return lo
