"""The allocation state of one time-mode run (``allocation.py`` has the rules).

Every job holds in ``ClusterState`` its guaranteed CPU and memory (``TimeJob.held``):
its request, its proportional share or, under ``synergy``, the cheapest profile point
as fast as that share. Under ``synergy`` a job may run with more (``TimeJob.grant``);
the difference is *lent* and tracked here per node, outside the cluster state, so
placement sees lent resources as free. Whenever a bind leaves a node short of what it
has lent (``make_room``), lent resources are taken back, from the latest job first,
down to the fastest point that still fits, never below a job's guarantee; when a node
has resources nobody holds or borrows (``top_up``), its jobs take them, earliest job
first, up to the point where their table stops paying. So, at every moment, held plus
lent never exceeds a node's capacity (``check``), and no job runs slower than at its
proportional share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autoscaler.simulator.gpu.allocation import (
    Grant,
    Ladder,
    NodeShape,
    fastest_within,
    ladder,
    proportional_grant,
    synergy_minimum,
)
from autoscaler.simulator.gpu.synergy_profiles import JobProfile
from autoscaler.simulator.gpu.time_jobs import TimeJob

if TYPE_CHECKING:
    from autoscaler.simulator.gpu.time_replay import Replay


class Tuner:
    """Guarantees (cached per profile, GPU count and node shape) and lent resources."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.mode = replay.cfg.allocation
        self.lends = self.mode == "synergy"
        n = replay.fleet.size
        self.lent_cpu = np.zeros(n, dtype=np.int64)
        self.lent_mem = np.zeros(n, dtype=np.int64)
        self.gpu_shapes = tuple(dict.fromkeys(s for s in replay.shapes if s.gpus > 0))
        self._floors: dict[tuple[JobProfile, float, NodeShape], Grant] = {}
        self._ladders: dict[tuple[JobProfile, float], Ladder] = {}
        self._least: dict[tuple[JobProfile, float], tuple[int, int]] = {}
        self.reclaims = 0

    # guarantees -------------------------------------------------------------------
    def _floor_at(self, prof: JobProfile, gpus: float, shape: NodeShape) -> Grant:
        key = (prof, gpus, shape)
        g = self._floors.get(key)
        if g is None:
            rule = synergy_minimum if self.lends else proportional_grant
            g = self._floors[key] = rule(prof, shape, gpus)
        return g

    def floor(self, j: TimeJob, node: int) -> Grant:
        """What ``j`` must hold on ``node``."""
        if j.profile is None or self.mode == "request":
            return Grant(j.req.cpu, j.req.mem, 1.0)
        return self._floor_at(j.profile, j.gpus, self.replay.shapes[node])

    def least_need(self, j: TimeJob) -> tuple[int, int]:
        """The smallest CPU and memory ``j`` must hold on any GPU node (for placement,
        which then checks the chosen node's own)."""
        if j.profile is None or self.mode == "request" or not self.gpu_shapes:
            return j.req.cpu, j.req.mem
        key = (j.profile, j.gpus)
        got = self._least.get(key)
        if got is None:
            floors = [self._floor_at(j.profile, j.gpus, s) for s in self.gpu_shapes]
            got = self._least[key] = (min(g.cpu for g in floors), min(g.mem for g in floors))
        return got

    def _ladder(self, j: TimeJob) -> Ladder:
        assert j.profile is not None
        key = (j.profile, j.gpus)
        lad = self._ladders.get(key)
        if lad is None:
            lad = self._ladders[key] = ladder(j.profile, j.gpus)
        return lad

    # lending ----------------------------------------------------------------------
    def release(self, j: TimeJob) -> None:
        """``j`` leaves its node: what it borrowed is no longer lent."""
        assert j.placement is not None
        node = j.placement.node
        self.lent_cpu[node] -= j.grant.cpu - j.held.cpu
        self.lent_mem[node] -= j.grant.mem - j.held.mem
        j.grant = j.held

    def _regrant(self, j: TimeJob, new: Grant, now: float) -> None:
        assert j.placement is not None
        node = j.placement.node
        j.account(max(now, j.run_start))
        self.lent_cpu[node] += new.cpu - j.grant.cpu
        self.lent_mem[node] += new.mem - j.grant.mem
        j.grant = new
        self.replay.rearm(j)

    def _jobs_on(self, node: int, latest_first: bool) -> list[TimeJob]:
        jobs = self.replay.jobs
        return sorted(
            (jobs[k] for k in self.replay.on_node[node] if jobs[k].profile is not None),
            key=lambda j: j.idx,
            reverse=latest_first,
        )

    def make_room(self, node: int, now: float) -> None:
        """Take lent resources back on ``node`` until what is lent fits in what nobody
        holds (latest job first, each to the fastest point that covers the shortfall)."""
        st = self.replay.state
        short_cpu = int(self.lent_cpu[node] - st.cpu_left[node])
        short_mem = int(self.lent_mem[node] - st.mem_left[node])
        if short_cpu <= 0 and short_mem <= 0:
            return
        for j in self._jobs_on(node, latest_first=True):
            if j.grant is j.held:
                continue
            cap_cpu = j.grant.cpu - max(short_cpu, 0)
            cap_mem = j.grant.mem - max(short_mem, 0)
            new = fastest_within(self._ladder(j), cap_cpu, cap_mem, j.held)
            short_cpu -= j.grant.cpu - new.cpu
            short_mem -= j.grant.mem - new.mem
            self._regrant(j, new, now)
            self.reclaims += 1
            if short_cpu <= 0 and short_mem <= 0:
                break
        self._check_node(node)

    def top_up(self, node: int, now: float) -> None:
        """Lend what nobody holds or borrows on ``node`` to its jobs, earliest first."""
        st = self.replay.state
        free_cpu = int(st.cpu_left[node] - self.lent_cpu[node])
        free_mem = int(st.mem_left[node] - self.lent_mem[node])
        if free_cpu <= 0 and free_mem <= 0:
            return
        for j in self._jobs_on(node, latest_first=False):
            assert j.profile is not None
            if j.grant.rate >= j.profile.top:
                continue
            cap_cpu, cap_mem = j.grant.cpu + free_cpu, j.grant.mem + free_mem
            new = fastest_within(self._ladder(j), cap_cpu, cap_mem, j.held, j.grant)
            if new is j.grant:
                continue
            free_cpu -= new.cpu - j.grant.cpu
            free_mem -= new.mem - j.grant.mem
            self._regrant(j, new, now)
        self._check_node(node)

    def _check_node(self, node: int) -> None:
        st = self.replay.state
        ok = 0 <= self.lent_cpu[node] <= st.cpu_left[node]
        if not (ok and 0 <= self.lent_mem[node] <= st.mem_left[node]):
            raise AssertionError(f"node {node}: held plus lent exceeds its CPU or memory")

    def check(self) -> None:
        """Held plus lent never exceeds any node's CPU or memory."""
        st = self.replay.state
        assert (self.lent_cpu >= 0).all() and (self.lent_mem >= 0).all()
        assert (self.lent_cpu <= st.cpu_left).all(), "CPU over-allocated by lending"
        assert (self.lent_mem <= st.mem_left).all(), "memory over-allocated by lending"
