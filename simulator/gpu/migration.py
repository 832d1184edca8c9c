"""Migration to defragment: a GPU job that fits nowhere may move running GPU jobs off a
node whose free GPU adds up to enough but is split across GPUs, when each mover fits on
another node. A mover pauses ``migration_cost_s`` seconds (it stops and restarts on its
new node, where it holds its resources while paused). At most ``CANDIDATE_NODES`` nodes
(the most free GPU first) are tried per job, and movers go smallest first; at most one
job moves per attempt (the first mover whose leaving makes room and that fits elsewhere).

A congested queue asks again after every cluster change, and almost every search fails:
``MigrationMemo`` keeps, per waiting job and node, the movers whose leaving would make
room (valid while that node's ``RunningIndex.ver`` is unchanged), and per mover the node
versions at which it fitted nowhere else (then only nodes changed since can take it).
The full search runs only when that proves nothing, so the moves are the same.
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
    free = replay.index.gpu_free(st.gpu_left)
    cand = np.flatnonzero(replay.migration_memo.model_ok(r) & (free >= r.total_gpu_milli))
    order = np.argsort(-free[cand], kind="stable")
    tried = cand[order][:CANDIDATE_NODES].tolist()
    memo = replay.migration_memo
    if memo.on and not replay.plain_search and not memo.may_succeed(j, tried):
        return None
    for node in tried:
        cpu, mem = replay.need(j, node)
        movers = sorted(
            (replay.jobs[k] for k in replay.on_node[node] if replay.jobs[k].req.num_gpu > 0),
            key=lambda m: (m.req.total_gpu_milli, m.idx),
        )
        for m in movers:
            assert m.placement is not None
            freed = [0] * len(st.gpu_lists[node])
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


class MigrationMemo:
    """What failed searches found (see the module's text); ``on`` with the request
    allocation only (need per node is then the request everywhere)."""

    def __init__(self, replay: Replay, on: bool) -> None:
        self.replay = replay
        self.on = on
        self.useful: dict[int, tuple[int, dict[int, list[int]]]] = {}
        self.no_dest: dict[tuple[int, int], int] = {}
        self._model_ok: dict[bytes, np.ndarray] = {}

    def forget(self, j: TimeJob) -> None:
        self.useful.pop(j.idx, None)

    def model_ok(self, r: PodRequest) -> np.ndarray:
        """Nodes with a GPU model ``r`` may use."""
        key = r.models.tobytes()
        ok = self._model_ok.get(key)
        if ok is None:
            st = self.replay.state
            ok = (st.model_idx >= 0) & r.models[np.maximum(st.model_idx, 0)]
            self._model_ok[key] = ok
        return ok

    def may_succeed(self, j: TimeJob, nodes: list[int]) -> bool:
        """False only if no mover on ``nodes`` both makes room for ``j`` and fits
        elsewhere (the search would fail)."""
        index = self.replay.index
        mark, movers = self.useful.get(j.idx, (0, {}))
        for node in index.changed_since(mark) if movers else ():
            movers.pop(node, None)  # stale
        self.useful[j.idx] = (index.mark, movers)
        for node in nodes:
            if node not in movers:
                movers[node] = self._useful(j, node)
            if any(self._has_destination(k, node) for k in movers[node]):
                return True
        return False

    def _useful(self, j: TimeJob, node: int) -> list[int]:
        rp = self.replay
        st, r = rp.state, j.req
        cpu, mem = rp.need(j, node)
        out = []
        for k in rp.on_node[node]:
            m = rp.jobs[k]
            if m.req.num_gpu == 0:
                continue
            assert m.placement is not None
            freed = [0] * len(st.gpu_lists[node])
            for g in m.placement.gpus:
                freed[g] += m.req.gpu_milli
            if fits(st, r, node, cpu, mem, m.held.cpu, m.held.mem, freed):
                out.append(k)
        return out

    def _has_destination(self, k: int, source: int) -> bool:
        rp = self.replay
        st, m, index = rp.state, rp.jobs[k], rp.index
        mark = self.no_dest.get((k, source))
        if mark is None:
            mask = feasible(m.req, st)  # the request is what it needs everywhere
            mask[source] = False
            if mask.any():
                return True
        else:
            changed = index.changed_since(mark)
            changed.discard(source)
            if any(fits(st, m.req, n, m.req.cpu, m.req.mem) for n in changed):
                return True
        self.no_dest[(k, source)] = index.mark
        return False
