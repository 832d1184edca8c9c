"""One attempt to start a waiting job: on free resources, by taking back quota it lent,
by preemption, or by migration (``Attempts.try_start``), and the memo that makes a
congested queue's retries cheap.

After a failed attempt nothing has changed, and the attempt's outcome depends only on
the job (its request and priority), the quota situation (whether it is inside its own
quota, which partitions are over theirs, how much must come back) and, node by node, on
what is free there and which jobs run there with which keys. Every change to a node
(a job starting, stopping or changing priority there) is logged in ``RunningIndex``. So a
job that failed and is offered again with the same priority and quota situation can
only succeed on a node that changed since: the retry looks at those alone, and fails at
once when there are none. Placement, preemption and migration decisions are therefore
the same as when every node is searched on every retry. The memo is used with the
``request`` allocation (the profiled ones guarantee a different amount per node shape,
so a placement can fail on a node that a memo would skip) and not under ``sjf`` (whose
keys change as jobs run).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from autoscaler.simulator.gpu.fleet import MILLI
from autoscaler.simulator.gpu.migration import migrate_for
from autoscaler.simulator.gpu.placement import PodRequest
from autoscaler.simulator.gpu.preemption import (
    find_victims,
    fits,
    plain_choice,
    return_quota,
    room_by_evicting,
)
from autoscaler.simulator.gpu.state import Placement
from autoscaler.simulator.gpu.time_jobs import TimeJob

if TYPE_CHECKING:
    from autoscaler.simulator.gpu.time_replay import Replay


class Attempts:
    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        cfg = replay.cfg
        self.memo_on = cfg.allocation == "request" and cfg.scheduler != "sjf"
        self.failed: dict[int, tuple[tuple, int]] = {}
        self._cap_stamp: tuple[int, int] | None = None
        self._cap = (0, 0, 0, 0)
        self._over_at = -1
        # No migration and no borrowing: a retry can only start on free resources or by
        # preempting, which ``_may_start_on`` rules out cheaply (most retries).
        self.simple = not cfg.migration and not cfg.borrowing and cfg.scheduler != "priority"
        self._over: tuple[str, ...] = ()
        self._preempts = cfg.preempts  # read once: a retry is the hot path
        self._intra = cfg.preempts_in_partition

    def forget(self, j: TimeJob) -> None:
        """``j`` started: drop what was memoised about it."""
        self.failed.pop(j.idx, None)
        self.replay.migration_memo.forget(j)

    # placement on free resources -----------------------------------------------------
    def _may_fit(self, cpu: int, mem: int, r: PodRequest) -> bool:
        """A cheap necessary condition for ``r`` to fit somewhere now (scalars cached
        per cluster change), so that a congested queue skips the full placement."""
        rp = self.replay
        stamp = (rp.releases, rp.binds)
        if self._cap_stamp != stamp:
            st = rp.state
            self._cap = (
                int(st.cpu_left.max()),
                int(st.mem_left.max()),
                int((st.gpu_left >= MILLI).sum(axis=1).max()),
                int(st.gpu_left.max()),
            )
            self._cap_stamp = stamp
        max_cpu, max_mem, idle, share = self._cap
        if cpu > max_cpu or mem > max_mem:
            return False
        if r.num_gpu == 0:
            return True
        return share >= r.gpu_milli if r.is_share else idle >= r.num_gpu

    def _placeable(self, j: TimeJob) -> Placement | None:
        """Where ``j`` can start now without evicting anyone (None: nowhere)."""
        rp = self.replay
        cpu, mem = rp.tuner.least_need(j)
        r = j.req
        if not self._may_fit(cpu, mem, r):
            return None
        req = (
            r
            if (cpu, mem) == (r.cpu, r.mem)
            else PodRequest(cpu, mem, r.num_gpu, r.gpu_milli, r.models)
        )
        where = rp.policy.place(req, rp.state, rp.rng)
        if where is None:
            return None
        held = rp.tuner.floor(j, where.node)
        st = rp.state
        if st.cpu_left[where.node] < held.cpu or st.mem_left[where.node] < held.mem:
            return None
        return where

    # one attempt ---------------------------------------------------------------------
    def try_start(self, j: TimeJob, now: float) -> bool:
        """Start ``j`` if it can: on free resources, by taking back the quota it lent
        (``owed``: borrowed milli that must come back first), by preemption or by
        migration. Nothing is evicted unless ``j`` then starts, so no two jobs can evict
        each other back and forth."""
        rp = self.replay
        ledger, milli = rp.ledger, j.req.total_gpu_milli
        owed = 0
        own, admitted = ledger.standing(j.partition, milli)
        # Over its own quota, with preemption: it may evict its own partition's jobs.
        excess = ledger.own_excess(j.partition, milli) if self._intra and not own else 0
        if not admitted:
            owed = ledger.reclaim_needed(j.partition, milli)
            if owed <= 0 and not excess:
                return False
        nodes = None  # None: search every node
        key: tuple = ()
        # Returning quota depends on every node: no memo then.
        memo_on = self.memo_on and not owed and not rp.plain_search
        if memo_on:
            if self._over_at != ledger.version:
                self._over = tuple(p for p in ledger.quota if ledger.over_quota(p))
                self._over_at = ledger.version
            over = self._over
            table = rp.order.gittins.refits if rp.order.gittins is not None else 0
            key = (j.pver, table, own, over, excess, admitted)
            memo = self.failed.get(j.idx)
            if memo is not None and memo[0] == key:
                changed = rp.index.changed_since(memo[1])
                if self.simple and not self._may_start_on(j, changed, own, excess > 0):
                    self.failed[j.idx] = (key, rp.index.mark)
                    return False
                nodes = sorted(changed)  # the search's order (ties go to the first)
        started = self._attempt(j, now, owed, nodes, admitted)
        if not started and memo_on:
            self.failed[j.idx] = (key, rp.index.mark)
        return started

    def _attempt(
        self, j: TimeJob, now: float, owed: int, nodes: list[int] | None, admitted: bool
    ) -> bool:
        """``admitted``: False when ``j`` may start only by evicting (quota it lent, or
        its own partition's jobs when it is over its quota)."""
        rp = self.replay
        # With a memo, only the nodes changed since can take it.
        free = admitted or owed > 0
        where = self._placeable(j) if free and (nodes is None or self._fits_any(j, nodes)) else None
        if where is not None:
            if not owed:
                return rp.start(j, where, now)
            if return_quota(rp, j, owed, now):
                where = self._placeable(j)
                assert where is not None, "evicting only frees room"
                started = rp.start(j, where, now)
                assert started, "checked by _placeable"
                return True
        choice = None
        if nodes is None or nodes:
            if rp.plain_search:
                choice = plain_choice(rp, j, now, owed)
            else:
                choice = find_victims(rp, j, now, owed, nodes)
        if choice is not None:
            node, chosen = choice
            for v in chosen:
                borrowed = v.partition != j.partition and rp.ledger.over_quota(v.partition)
                rp.preempt(v, now, "quota_returns" if borrowed else "preemptions")
            cpu, mem = rp.need(j, node)
            assert fits(rp.state, j.req, node, cpu, mem)
            return rp.start(j, Placement(node, rp.gpus_on(j.req, node)), now)
        if rp.cfg.migration and admitted:
            where = migrate_for(rp, j, now)
            return where is not None and rp.start(j, where, now)
        return False

    def _may_start_on(self, j: TimeJob, nodes: Collection[int], own: bool, intra: bool) -> bool:
        """False only if ``j`` fits on none of ``nodes`` and (with preemption) none of
        them runs jobs it outranks whose eviction could make room (inside its own quota)
        or a job of its own partition it outranks (``intra``: over its quota):
        ``_attempt`` would then fail."""
        if not nodes:  # nothing changed since the last try
            return False
        rp = self.replay
        st, r, lists, index = rp.state, j.req, rp.index.nodes, rp.index
        mine = rp.order.primary(j)
        first = -mine  # as ``find_victims`` compares index entries
        preempts = self._preempts and own
        for n in nodes:
            if fits(st, r, n, r.cpu, r.mem):
                return True
            if (  # a job it outranks, and evicting all of them would make room
                preempts
                and lists[n]
                and lists[n][0][0] < first
                and room_by_evicting(
                    (st.cpu_list[n], st.mem_list[n], sum(st.gpu_lists[n])),
                    index.outranked_total(n, mine),
                    (*rp.need(j, n), r.total_gpu_milli),
                    0,
                )
            ):
                return True
            if intra and index.outranked_of_partition(n, j.partition, mine):
                return True
        return False

    def _fits_any(self, j: TimeJob, nodes: list[int]) -> bool:
        st, r = self.replay.state, j.req
        return any(fits(st, r, n, r.cpu, r.mem) for n in nodes)
