"""Migration to defragment: a GPU job that fits nowhere may move running GPU jobs off a
node whose free GPU adds up to enough but is split across GPUs, when each mover fits on
another node. A mover pauses ``migration_cost_s`` seconds (it stops and restarts on its
new node, where it holds its resources while paused). At most ``CANDIDATE_NODES`` nodes
(the most free GPU first) are tried per job, and movers go smallest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autoscaler.simulator.gpu.placement import PodRequest, feasible
from autoscaler.simulator.gpu.preemption import fits
from autoscaler.simulator.gpu.state import Placement

if TYPE_CHECKING:
    from autoscaler.simulator.gpu.time_jobs import TimeJob
    from autoscaler.simulator.gpu.time_replay import Replay

CANDIDATE_NODES = 32


def migrate_for(replay: Replay, j: TimeJob, now: float) -> Placement | None:
    """Move jobs so that ``j`` fits; its placement, or None (nothing moved then
    unless a move was made that did not suffice; every move is counted)."""
    st, r = replay.state, j.req
    if r.num_gpu == 0:
        return None
    ok = (st.model_idx >= 0) & r.models[np.maximum(st.model_idx, 0)]
    ok &= st.gpu_left.sum(axis=1) >= r.total_gpu_milli
    cand = np.flatnonzero(ok)
    order = np.argsort(-st.gpu_left[cand].sum(axis=1), kind="stable")
    for node in cand[order][:CANDIDATE_NODES]:
        node = int(node)
        cpu, mem = replay.need(j, node)
        movers = sorted(
            (replay.jobs[k] for k in replay.on_node[node] if replay.jobs[k].req.num_gpu > 0),
            key=lambda m: (m.req.total_gpu_milli, m.idx),
        )
        for m in movers:
            assert m.placement is not None
            freed = np.zeros_like(st.gpu_left[node])
            for g in m.placement.gpus:
                freed[g] += m.req.gpu_milli
            if not fits(st, r, node, cpu, mem, m.held.cpu, m.held.mem, freed):
                continue
            dest = _destination(replay, m, node)
            if dest is None:
                continue
            replay.stop(m, now)
            moved = replay.start(
                m, Placement(dest, replay.gpus_on(m.req, dest)), now, replay.cfg.migration_cost_s
            )
            assert moved, "the destination was checked to fit"
            replay.counts["migrations"] += 1
            if fits(st, r, node, cpu, mem):
                return Placement(node, replay.gpus_on(r, node))
    return None


def _destination(replay: Replay, m: TimeJob, source: int) -> int | None:
    """The tightest other node where ``m`` fits with the CPU and memory it needs."""
    st = replay.state
    probe = PodRequest(0, 0, m.req.num_gpu, m.req.gpu_milli, m.req.models)
    mask = feasible(probe, st)
    mask[source] = False
    targets = np.flatnonzero(mask)
    if len(targets) == 0:
        return None
    for dest in targets[np.argsort(st.gpu_left[targets].sum(axis=1), kind="stable")]:
        cpu, mem = replay.need(m, int(dest))
        if fits(st, m.req, int(dest), cpu, mem):
            return int(dest)
    return None
