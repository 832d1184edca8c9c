"""Choosing whom to evict so that one waiting job fits on one node.

The caller says which running jobs may be evicted (the scheduler's rule, or borrowed
quota being returned) and in which order (first evicted first). For every node holding
such jobs, evict in that order until the waiting job fits; take the node that needs
the least GPU evicted (then the fewest jobs), so that preemption costs as little
service as it can. Nothing is changed here: the caller stops the victims.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from autoscaler.simulator.gpu.placement import PodRequest
from autoscaler.simulator.gpu.state import ClusterState
from autoscaler.simulator.gpu.time_jobs import TimeJob


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
    for node, victims in by_node.items():
        cpu, mem = need(node)
        extra_gpu = np.zeros_like(state.gpu_left[node])
        extra_cpu = extra_mem = 0
        chosen: list[TimeJob] = []
        for v in victims:
            if fits(state, req, node, cpu, mem, extra_cpu, extra_mem, extra_gpu):
                break
            chosen.append(v)
            extra_cpu += v.grant.cpu
            extra_mem += v.grant.mem
            assert v.placement is not None
            for g in v.placement.gpus:
                extra_gpu[g] += v.req.gpu_milli
        if not chosen or not fits(state, req, node, cpu, mem, extra_cpu, extra_mem, extra_gpu):
            continue
        cost = (sum(v.req.total_gpu_milli for v in chosen), len(chosen))
        if best is None or cost < best[0]:
            best = (cost, node, chosen)
    return None if best is None else (best[1], best[2])
