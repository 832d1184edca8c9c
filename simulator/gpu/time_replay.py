"""Time mode: pods arrive at their trace times (optionally sped up), wait in a queue,
run for their trace duration and leave.

* Scheduler (queue order): ``fifo`` (arrival), ``sjf`` (shortest trace duration
  first) or ``priority`` (QoS class: LS/Guaranteed, then Burstable, then BE; FIFO
  within a class). The queue is not blocking: a pod that fits nowhere waits while
  later ones that fit start.
* Preemption (default on with ``priority``): an LS/Guaranteed pod that fits nowhere
  evicts BE pods from the one node where evicting them makes room (fewest BE GPU milli
  held), most recently started first. Evicted pods go back to the queue with the work
  they have left (checkpointed); none is ever lost.
* Migration (``migration=True``): a GPU pod that fits nowhere may move one running
  GPU pod from a node whose free GPU adds up to enough but is split across GPUs, when
  the mover fits on another node; the mover pauses ``migration_cost_s`` seconds.
  Every move goes through the checked ``ClusterState.bind``, so nothing is overcommitted.
* Partitions (fleet ``partitions``): pods are dealt to them round-robin in trace order
  and admitted only within their partition's GPU quota.
* CPU allocation: see ``allocation.py``.

Times are seconds. Finishes at a time are handled before arrivals at the same time.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from autoscaler.simulator.event_queue import EventQueue
from autoscaler.simulator.gpu.allocation import cpu_plan, granted_cpu, proportional_cpu, slowdown
from autoscaler.simulator.gpu.fleet import Fleet
from autoscaler.simulator.gpu.frag_replay import requests_for
from autoscaler.simulator.gpu.fragmentation import typical_pods
from autoscaler.simulator.gpu.partitions import QuotaLedger
from autoscaler.simulator.gpu.placement import (
    PodRequest,
    exclusive_gpus,
    feasible,
    make_policy,
    share_gpu_tightest,
)
from autoscaler.simulator.gpu.pods import QOS_PRIORITY, PodTable
from autoscaler.simulator.gpu.state import ClusterState, Placement

SCHEDULERS = ("fifo", "sjf", "priority")
_FINISH, _ARRIVE = 0, 1
_BE = QOS_PRIORITY["BE"]
_MIGRATION_CANDIDATES = 32


@dataclass(frozen=True, slots=True)
class TimeConfig:
    """One time-mode run. ``preemption=None`` means: on for ``priority`` only."""

    placement: str = "best_fit"
    scheduler: str = "fifo"
    preemption: bool | None = None
    migration: bool = False
    migration_cost_s: float = 60.0
    arrival_speedup: float = 1.0
    allocation: str = "request"
    seed: int = 0

    @property
    def preempts(self) -> bool:
        return self.scheduler == "priority" if self.preemption is None else self.preemption

    def label(self) -> str:
        parts = [self.scheduler + ("+preempt" if self.preempts else "")]
        parts.append("migration" if self.migration else "no-migration")
        return f"{self.placement}/{'/'.join(parts)}/{self.allocation}"


@dataclass(frozen=True, slots=True, eq=False)
class TimeRun:
    """Results. ``jct``/``queueing_delay`` hold one value per finished pod (seconds);
    ``util_times``/``util_pct`` are the allocated-GPU step curve; ``mean_gpu_util_pct``
    averages it over the whole run, ``util_while_queued_pct`` only over the time some pod
    was waiting (None if none ever waited): how well placement packs under contention."""

    config: TimeConfig
    jct: np.ndarray
    queueing_delay: np.ndarray
    finished: int
    unfinished: int
    preemptions: int
    migrations: int
    util_times: np.ndarray
    util_pct: np.ndarray
    mean_gpu_util_pct: float
    util_while_queued_pct: float | None
    wall_seconds: float

    def jct_stat(self, what: str) -> float:
        """``mean``, ``p50``, ``p95`` or ``p99`` of JCT (NaN when nothing finished)."""
        if len(self.jct) == 0:
            return float("nan")
        if what == "mean":
            return float(self.jct.mean())
        return float(np.percentile(self.jct, float(what[1:])))


@dataclass(slots=True)
class _Job:
    idx: int
    req: PodRequest
    prio: int
    arrival: float
    work_left: float
    partition: str | None
    sensitivity: float = 0.5
    first_start: float | None = None
    placement: Placement | None = None
    cpu_alloc: int = 0
    speed: float = 1.0
    run_start: float = 0.0
    epoch: int = 0
    finish: float | None = None


class _Replay:
    def __init__(self, fleet: Fleet, pods: PodTable, cfg: TimeConfig) -> None:
        if cfg.scheduler not in SCHEDULERS:
            raise ValueError(
                f"unknown scheduler {cfg.scheduler!r} (choose from {', '.join(SCHEDULERS)})"
            )
        if not pods.has_times:
            raise ValueError("time mode needs creation_time and deletion_time in the pod list")
        if cfg.arrival_speedup <= 0:
            raise ValueError("arrival speed-up must be > 0")
        self.cfg = cfg
        self.fleet = fleet
        self.state = ClusterState(fleet)
        self.rng = np.random.default_rng(cfg.seed)
        self.policy = make_policy(cfg.placement, typical_pods(pods, fleet.models))
        cpu_plan(cfg.allocation, 0, 0)  # validates the mode name early
        self.ledger = QuotaLedger(fleet.partitions)
        parts = [p.name for p in fleet.partitions]
        reqs = requests_for(pods, fleet.models)
        self.jobs = [
            _Job(
                idx=i,
                req=reqs[i],
                prio=QOS_PRIORITY[pods.qos[i]],
                arrival=float(pods.creation[i]) / cfg.arrival_speedup,
                work_left=float(pods.duration[i]),
                partition=parts[i % len(parts)] if parts else None,
            )
            for i in range(len(pods))
        ]
        self.events: EventQueue[tuple[int, int, int]] = EventQueue()
        for j in self.jobs:
            self.events.push(j.arrival, (_ARRIVE, j.idx, 0), priority=_ARRIVE)
        self.on_node: list[set[int]] = [set() for _ in range(fleet.size)]
        self.groups: dict[tuple, list[tuple[tuple, int]]] = {}
        self.blocked: dict[tuple, int] = {}
        self.releases = 0
        self.preemptions = 0
        self.migrations = 0
        self.seq = 0
        n = fleet.size
        self.be_cpu = np.zeros(n, dtype=np.int64)
        self.be_mem = np.zeros(n, dtype=np.int64)
        self.be_gpu = np.zeros_like(self.state.gpu_left)

    # queue -----------------------------------------------------------------------
    def _group(self, j: _Job) -> tuple:
        r = j.req
        spec = tuple(np.flatnonzero(r.models))
        return (r.cpu, r.mem, r.num_gpu, r.gpu_milli, spec, j.prio, j.partition)

    def _enqueue(self, j: _Job) -> None:
        self.seq += 1
        if self.cfg.scheduler == "fifo":
            key: tuple = (j.arrival, self.seq)
        elif self.cfg.scheduler == "sjf":
            key = (j.work_left, j.arrival, self.seq)
        else:
            key = (j.prio, j.arrival, self.seq)
        heapq.heappush(self.groups.setdefault(self._group(j), []), (key, j.idx))

    # running ---------------------------------------------------------------------
    def _cpu_for(self, j: _Job, node: int) -> tuple[int, int, float]:
        """(CPU to bind now, CPU granted, sensitivity) for ``j`` on ``node``."""
        r = j.req
        if r.num_gpu == 0:
            return r.cpu, r.cpu, 0.0
        prop = proportional_cpu(
            int(self.fleet.cpu_milli[node]), int(self.fleet.gpus[node]), r.total_gpu_milli
        )
        plan = cpu_plan(self.cfg.allocation, r.cpu, prop)
        free_after = int(self.state.cpu_left[node]) - plan.need
        return plan.need, granted_cpu(plan, free_after), plan.sensitivity

    def _need_cpu(self, j: _Job) -> int:
        """CPU a job must find; for non-request modes it depends on the node, so the
        placement filter uses the smallest share over the fleet and the bind checks."""
        return j.req.cpu if self.cfg.allocation == "request" or j.req.num_gpu == 0 else 0

    def _start(self, j: _Job, where: Placement, now: float, delay: float = 0.0) -> None:
        need, cpu, s = self._cpu_for(j, where.node)
        if self._need_cpu(j) == 0 and self.state.cpu_left[where.node] < need:
            raise _NoFit
        self.state.bind(where, cpu, j.req.mem, j.req.gpu_milli)
        self.ledger.charge(j.partition, j.req.total_gpu_milli)
        j.placement, j.cpu_alloc, j.sensitivity = where, cpu, s
        j.speed = (
            slowdown(s, j.req.cpu, cpu)
            if j.req.num_gpu and self.cfg.allocation != "request"
            else 1.0
        )
        j.first_start = now if j.first_start is None else j.first_start
        j.run_start = now + delay
        j.epoch += 1
        j.finish = j.run_start + j.work_left * j.speed
        self.on_node[where.node].add(j.idx)
        self._track_be(j, +1)
        self.events.push(j.finish, (_FINISH, j.idx, j.epoch), priority=_FINISH)

    def _stop(self, j: _Job, now: float) -> None:
        """Take ``j`` off its node, keeping the work it has left."""
        assert j.placement is not None
        ran = max(0.0, now - j.run_start)
        j.work_left = max(0.0, j.work_left - ran / j.speed)
        self._track_be(j, -1)
        self.state.release(j.placement, j.cpu_alloc, j.req.mem, j.req.gpu_milli)
        self.ledger.refund(j.partition, j.req.total_gpu_milli)
        self.on_node[j.placement.node].discard(j.idx)
        j.placement, j.finish = None, None
        j.epoch += 1
        self.releases += 1

    def _track_be(self, j: _Job, sign: int) -> None:
        if j.prio != _BE or j.placement is None:
            return
        n = j.placement.node
        self.be_cpu[n] += sign * j.cpu_alloc
        self.be_mem[n] += sign * j.req.mem
        for g in j.placement.gpus:
            self.be_gpu[n, g] += sign * j.req.gpu_milli

    # placement with preemption and migration --------------------------------------
    def _gpus_on(self, req: PodRequest, node: int) -> tuple[int, ...]:
        if req.num_gpu == 0:
            return ()
        if req.is_share:
            return share_gpu_tightest(self.state, node, req.gpu_milli)
        return exclusive_gpus(self.state, node, req.num_gpu)

    def _fits_on(self, req: PodRequest, node: int, cpu: int) -> bool:
        st = self.state
        if st.cpu_left[node] < cpu or st.mem_left[node] < req.mem:
            return False
        if req.num_gpu == 0:
            return True
        if st.model_idx[node] < 0 or not req.models[st.model_idx[node]]:
            return False
        return int((st.gpu_left[node] >= req.gpu_milli).sum()) >= req.num_gpu

    def _preempt_for(self, j: _Job, now: float) -> Placement | None:
        st, r = self.state, j.req
        ok = (st.cpu_left + self.be_cpu >= r.cpu) & (st.mem_left + self.be_mem >= r.mem)
        ok &= self.be_gpu.sum(axis=1) + self.be_cpu + self.be_mem > 0
        if r.num_gpu:
            ok &= (st.model_idx >= 0) & r.models[np.maximum(st.model_idx, 0)]
            ok &= ((st.gpu_left + self.be_gpu) >= r.gpu_milli).sum(axis=1) >= r.num_gpu
        cand = np.flatnonzero(ok)
        if len(cand) == 0:
            return None
        node = int(cand[np.argmin(self.be_gpu[cand].sum(axis=1) * 10**6 + self.be_cpu[cand])])
        victims = sorted(
            (self.jobs[k] for k in self.on_node[node] if self.jobs[k].prio == _BE),
            key=lambda v: -v.run_start,
        )
        for v in victims:
            if self._fits_on(r, node, r.cpu):
                break
            self._stop(v, now)
            self.preemptions += 1
            self._enqueue(v)
        if not self._fits_on(r, node, r.cpu):
            return None
        return Placement(node, self._gpus_on(r, node))

    def _migrate_for(self, j: _Job, now: float) -> Placement | None:
        st, r = self.state, j.req
        if r.num_gpu == 0:
            return None
        ok = (st.cpu_left >= r.cpu) & (st.mem_left >= r.mem) & (st.model_idx >= 0)
        ok &= r.models[np.maximum(st.model_idx, 0)]
        ok &= st.gpu_left.sum(axis=1) >= r.total_gpu_milli
        cand = np.flatnonzero(ok)
        order = np.argsort(-st.gpu_left[cand].sum(axis=1), kind="stable")
        for node in cand[order][:_MIGRATION_CANDIDATES]:
            node = int(node)
            movers = sorted(
                (self.jobs[k] for k in self.on_node[node] if self.jobs[k].req.num_gpu > 0),
                key=lambda m: (m.req.total_gpu_milli, m.idx),
            )
            for m in movers:
                assert m.placement is not None
                left = st.gpu_left[node].copy()
                for g in m.placement.gpus:
                    left[g] += m.req.gpu_milli
                if int((left >= r.gpu_milli).sum()) < r.num_gpu:
                    continue
                elsewhere = feasible(m.req, st)
                elsewhere[node] = False
                targets = np.flatnonzero(elsewhere)
                if len(targets) == 0:
                    continue
                dest = int(targets[np.argmin(st.gpu_left[targets].sum(axis=1))])
                if st.cpu_left[dest] < self._cpu_for(m, dest)[0]:
                    continue
                self._stop(m, now)
                self._start(
                    m, Placement(dest, self._gpus_on(m.req, dest)), now, self.cfg.migration_cost_s
                )
                self.migrations += 1
                if self._fits_on(r, node, r.cpu):
                    return Placement(node, self._gpus_on(r, node))
        return None

    def _try_place(self, j: _Job, now: float) -> bool:
        if not self.ledger.admits(j.partition, j.req.total_gpu_milli):
            return False
        req = j.req
        if self._need_cpu(j) != req.cpu:
            req = PodRequest(0, req.mem, req.num_gpu, req.gpu_milli, req.models)
        attempts = [lambda: self.policy.place(req, self.state, self.rng)]
        if self.cfg.preempts and j.prio < _BE:
            attempts.append(lambda: self._preempt_for(j, now))
        if self.cfg.migration:
            attempts.append(lambda: self._migrate_for(j, now))
        for attempt in attempts:
            where = attempt()
            if where is None:
                continue
            try:
                self._start(j, where, now)
                return True
            except _NoFit:
                continue
        return False

    def _schedule(self, now: float) -> None:
        # Preemption and migration free resources mid-pass (and requeue evicted pods):
        # pass again until a pass frees nothing, so no requeued pod waits for an event.
        while True:
            releases = self.releases
            self._schedule_pass(now)
            if self.releases == releases:
                return

    def _schedule_pass(self, now: float) -> None:
        heads = [
            (q[0][0], g)
            for g, q in self.groups.items()
            if q and self.blocked.get(g) != self.releases
        ]
        heapq.heapify(heads)
        while heads:
            _, g = heapq.heappop(heads)
            q = self.groups[g]
            idx = q[0][1]
            if self._try_place(self.jobs[idx], now):
                heapq.heappop(q)
                if q:
                    heapq.heappush(heads, (q[0][0], g))
            else:
                self.blocked[g] = self.releases

    # main loop -------------------------------------------------------------------
    def run(self) -> TimeRun:
        started = time.perf_counter()
        times, used, queued = [0.0], [0], [False]
        finished: list[_Job] = []
        while len(self.events):
            now = self.events.peek_time()
            assert now is not None
            while self.events.peek_time() == now:
                _, (kind, idx, epoch) = self.events.pop()
                j = self.jobs[idx]
                if kind == _ARRIVE:
                    self._enqueue(j)
                elif epoch == j.epoch and j.placement is not None:
                    self._stop(j, now)
                    j.work_left = 0.0
                    j.finish = now
                    finished.append(j)
            self._schedule(now)
            times.append(now)
            used.append(self.state.used_gpu_milli)
            queued.append(any(self.groups.values()))
        self.state.check_invariants()
        t = np.array(times)
        u = np.array(used, dtype=float) / self.state.total_gpu_milli * 100
        span = t[-1] - t[0]
        dt = np.diff(t)
        mean_util = float((u[:-1] * dt).sum() / span) if span > 0 else 0.0
        waiting = np.array(queued[:-1]) & (dt > 0)
        busy = float((u[:-1] * dt)[waiting].sum() / dt[waiting].sum()) if waiting.any() else None
        jct = np.array([j.finish - j.arrival for j in finished if j.finish is not None])
        delay = np.array([j.first_start - j.arrival for j in finished if j.first_start is not None])
        return TimeRun(
            config=self.cfg,
            jct=jct,
            queueing_delay=delay,
            finished=len(finished),
            unfinished=len(self.jobs) - len(finished),
            preemptions=self.preemptions,
            migrations=self.migrations,
            util_times=t,
            util_pct=u,
            mean_gpu_util_pct=mean_util,
            util_while_queued_pct=busy,
            wall_seconds=time.perf_counter() - started,
        )


class _NoFit(Exception):
    """The node chosen cannot give the job the CPU its allocation mode needs."""


def run_time(fleet: Fleet, pods: PodTable, cfg: TimeConfig) -> TimeRun:
    """Replay ``pods`` over time on ``fleet``. Raises ValueError for a bad config or a
    pod list without times."""
    return _Replay(fleet, pods, cfg).run()


__all__ = ["SCHEDULERS", "TimeConfig", "TimeRun", "run_time"]
