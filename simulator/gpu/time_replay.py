"""Time mode: pods arrive at their trace times (optionally sped up), wait in a queue,
run for their trace duration (divided by their speed, see ``allocation.py``) and leave.

* Queue order: ``job_order.py`` (fifo, sjf, priority, tiresias, gittins), through the
  non-blocking grouped queue of ``wait_queue.py``.
* Preemption (``preempts``): a waiting job that fits nowhere evicts running jobs it
  outranks (the order's rule: lower LAS queue, lower Gittins index, BE under priority)
  from the node where that evicts least (``preemption.py``). Victims go back to the
  queue with the work they have left and owe ``preemption_cost_s`` of checkpoint and
  restore when they resume; none is ever lost.
* Migration (``migration``): ``migration.py``.
* Partitions (fleet ``partitions``): pods are dealt to them round-robin in trace order
  and admitted within their GPU quota; with ``borrowing`` beyond it from idle quota,
  returned by preemption when the lender needs it (``partitions.py``).

Every bind goes through the checked ``ClusterState.bind``, so nothing is overcommitted.
Times are seconds. At one time: finishes, then priority changes, promotions, arrivals.
"""

from __future__ import annotations

import time

import numpy as np

from autoscaler.simulator.event_queue import EventQueue
from autoscaler.simulator.gpu.allocation import PROFILED_MODES, NodeShape, check_mode
from autoscaler.simulator.gpu.attempt import Attempts
from autoscaler.simulator.gpu.compaction import Compactor
from autoscaler.simulator.gpu.fleet import Fleet
from autoscaler.simulator.gpu.frag_replay import requests_for
from autoscaler.simulator.gpu.fragmentation import typical_pods
from autoscaler.simulator.gpu.job_order import SCHEDULERS, JobOrder
from autoscaler.simulator.gpu.migration import MigrationMemo
from autoscaler.simulator.gpu.partitions import QuotaLedger
from autoscaler.simulator.gpu.placement import (
    PodRequest,
    exclusive_gpus,
    make_policy,
    share_gpu_tightest,
)
from autoscaler.simulator.gpu.pods import QOS_PRIORITY, PodTable
from autoscaler.simulator.gpu.running_index import RunningIndex
from autoscaler.simulator.gpu.state import ClusterState, Placement
from autoscaler.simulator.gpu.synergy_profiles import (
    ProfileBook,
    default_profiles_path,
    load_profiles,
)
from autoscaler.simulator.gpu.time_config import TimeConfig, TimeRun
from autoscaler.simulator.gpu.time_jobs import TimeJob
from autoscaler.simulator.gpu.time_measures import Recorder
from autoscaler.simulator.gpu.tuning import Tuner
from autoscaler.simulator.gpu.wait_queue import WaitQueue

_FINISH, _LEVEL, _PROMOTE, _ARRIVE = 0, 1, 2, 3


class Replay:
    """One run; ``run`` returns the ``TimeRun``. Other modules (migration) use
    ``start``, ``stop``, ``need`` and ``gpus_on``."""

    def __init__(
        self, fleet: Fleet, pods: PodTable, cfg: TimeConfig, profiles: ProfileBook | None
    ) -> None:
        self.order = JobOrder(cfg.scheduler, cfg.promote_knob)
        if not pods.has_times:
            raise ValueError("time mode needs creation_time and deletion_time in the pod list")
        if cfg.arrival_speedup <= 0:
            raise ValueError("arrival speed-up must be > 0")
        if cfg.preemption_cost_s < 0 or cfg.migration_cost_s < 0:
            raise ValueError("preemption and migration costs must be >= 0")
        check_mode(cfg.allocation)
        self.cfg = cfg
        self.fleet = fleet
        self.state = ClusterState(fleet)
        self.rng = np.random.default_rng(cfg.seed)
        typical = typical_pods(pods, fleet.models)
        self.policy = make_policy(cfg.placement, typical)
        self.profiled = cfg.allocation in PROFILED_MODES
        if self.profiled and profiles is None:
            profiles = load_profiles(default_profiles_path())
        assigned = profiles.assign(pods.num_gpu, cfg.seed) if self.profiled and profiles else []
        self.ledger = QuotaLedger(fleet.partitions, cfg.borrowing)
        parts = [p.name for p in fleet.partitions]
        reqs = requests_for(pods, fleet.models)
        self.jobs = [
            TimeJob(
                idx=i,
                req=reqs[i],
                qos=pods.qos[i],
                prio=QOS_PRIORITY[pods.qos[i]],
                arrival=float(pods.creation[i]) / cfg.arrival_speedup,
                work_left=float(pods.duration[i]),
                partition=parts[i % len(parts)] if parts else None,
                profile=assigned[i] if assigned else None,
            )
            for i in range(len(pods))
        ]
        self.shapes = [
            NodeShape(int(c), int(m), int(g))
            for c, m, g in zip(fleet.cpu_milli, fleet.memory_mib, fleet.gpus, strict=True)
        ]
        self.tuner = Tuner(self)
        self.queue = WaitQueue(self.jobs)
        self.events: EventQueue[tuple[int, int, int]] = EventQueue()
        for j in self.jobs:
            self.events.push(j.arrival, (_ARRIVE, j.idx, 0), priority=_ARRIVE)
        self.on_node: list[set[int]] = [set() for _ in range(fleet.size)]
        self.running: dict[int, TimeJob] = {}
        self.recorder = Recorder(self.state, typical, self.ledger)
        self.releases = self.prio_version = self.binds = 0
        self.index = RunningIndex(self.order, fleet.size)
        self.plain_search = False  # True: no index, no memo: scan and search all (tests)
        self.migration_memo = MigrationMemo(self, cfg.allocation == "request")
        self.attempts = Attempts(self)
        self.counts: dict[str, int | float] = dict.fromkeys(
            (
                "preemptions",
                "migrations",
                "compactions",
                "quota_returns",
                "pause_seconds",
                "gittins_refits",
            ),
            0,
        )
        self.retune_nodes: set[int] = set()
        self.compactor = Compactor(self, typical) if cfg.migration else None

    # allocation (tuning.py) --------------------------------------------------------
    def need(self, j: TimeJob, node: int) -> tuple[int, int]:
        """CPU and memory ``j`` must hold on ``node``."""
        if j.profile is None or not self.profiled:  # its request (``Tuner.floor``)
            return j.req.cpu, j.req.mem
        g = self.tuner.floor(j, node)
        return g.cpu, g.mem

    # running ---------------------------------------------------------------------
    def gpus_on(self, req: PodRequest, node: int) -> tuple[int, ...]:
        if req.num_gpu == 0:
            return ()
        if req.is_share:
            return share_gpu_tightest(self.state, node, req.gpu_milli)
        return exclusive_gpus(self.state, node, req.num_gpu)

    def start(self, j: TimeJob, where: Placement, now: float, delay: float = 0.0) -> bool:
        """Start ``j`` at ``where`` after ``delay`` s (plus any restore it owes); False
        (nothing changed) when the node lacks the CPU or memory it needs."""
        held = self.tuner.floor(j, where.node)
        if self.state.cpu_left[where.node] < held.cpu or self.state.mem_left[where.node] < held.mem:
            return False
        self.state.bind(where, held.cpu, held.mem, j.req.gpu_milli)
        self.binds += 1
        self.ledger.charge(j.partition, j.req.total_gpu_milli)
        if j.waiting:
            self.queue.take(j)
            self.attempts.forget(j)
        delay += j.restore_s
        self.counts["pause_seconds"] += delay
        j.restore_s = 0.0
        j.placement, j.held, j.grant = where, held, held
        j.first_start = now if j.first_start is None else j.first_start
        j.run_start = now + delay
        j.last_run = 0.0
        self.on_node[where.node].add(j.idx)
        self.retune_nodes.add(where.node)
        self.running[j.idx] = j
        self.rearm(j)
        self.index.add(j, self.binds)
        if self.tuner.lends:
            self.tuner.make_room(where.node, now)
        return True

    def rearm(self, j: TimeJob) -> None:
        """(Re)schedule ``j``'s finish and its next priority change."""
        j.epoch += 1
        j.finish = j.run_start + j.work_left / j.grant.rate
        self.events.push(j.finish, (_FINISH, j.idx, j.epoch), priority=_FINISH)
        service = self.order.service_to_next_change(j)
        if service is not None and j.gpus > 0:
            at = j.run_start + service / j.gpus
            if at < j.finish:
                self.events.push(at, (_LEVEL, j.idx, j.epoch), priority=_LEVEL)
        self.index.refresh(j)  # its service was booked or its priority changed

    def stop(self, j: TimeJob, now: float) -> None:
        """Take ``j`` off its node, keeping the work it has left."""
        assert j.placement is not None
        j.account(now)
        self.tuner.release(j)
        self.state.release(j.placement, j.held.cpu, j.held.mem, j.req.gpu_milli)
        self.ledger.refund(j.partition, j.req.total_gpu_milli)
        self.on_node[j.placement.node].discard(j.idx)
        self.retune_nodes.add(j.placement.node)
        del self.running[j.idx]
        self.index.remove(j)
        j.placement, j.finish = None, None
        j.epoch += 1
        self.releases += 1

    def _enqueue(self, j: TimeJob, now: float) -> None:
        self.queue.push(j, self.order.key(j))
        wait = self.order.promote_after(j)
        if wait is not None:
            self.events.push(now + wait, (_PROMOTE, j.idx, j.epoch), priority=_PROMOTE)

    def preempt(self, v: TimeJob, now: float, counter: str) -> None:
        self.stop(v, now)
        self.counts[counter] += 1
        v.preempted += 1
        v.restore_s = self.cfg.preemption_cost_s
        self._enqueue(v, now)

    def _schedule(self, now: float) -> None:
        # Preemption and migration free resources mid-pass (and requeue evicted pods):
        # pass again until a pass frees nothing, so no requeued pod waits for an event.
        # Every eviction is by a job of strictly higher priority or returns borrowed
        # quota to a job inside its own, so this ends; more passes than jobs is a bug.
        for _ in range(len(self.jobs) + 2):
            releases = self.releases
            self.queue.schedule_pass(
                (self.releases, self.prio_version), lambda j: self.attempts.try_start(j, now)
            )
            if self.releases == releases:
                return
        raise RuntimeError(f"t={now}: jobs keep evicting each other (livelock)")

    # main loop -------------------------------------------------------------------
    def _event(self, kind: int, j: TimeJob, epoch: int, now: float) -> bool:
        """Handle one event; False when it was stale (nothing happened)."""
        if kind == _ARRIVE:
            self._enqueue(j, now)
            return True
        if kind == _FINISH and epoch == j.epoch and j.placement is not None:
            self.stop(j, now)
            j.work_left, j.finish = 0.0, now
            self.finished.append(j)
            learner = self.order.gittins
            if learner is not None and j.gpus > 0 and learner.observe(j.attained):
                self.counts["gittins_refits"] += 1
                self.queue.rekey(self.order.key)
                self.index.rebuild(self.running.values())
                self.prio_version += 1
            return True
        if kind == _LEVEL and epoch == j.epoch and j.placement is not None:
            j.account(now)
            j.promoted = False
            j.touch()
            self.prio_version += 1
            self.rearm(j)
            return True
        if kind == _PROMOTE and epoch == j.epoch and j.waiting:
            j.las = 0.0
            j.promoted = True
            j.touch()
            self.queue.push(j, self.order.key(j))
            return True
        return False

    def run(self) -> TimeRun:
        started, cpu_started = time.perf_counter(), time.process_time()
        self.finished: list[TimeJob] = []
        while len(self.events):
            now = self.events.peek_time()
            assert now is not None
            acted = False
            while self.events.peek_time() == now:
                _, (kind, idx, epoch) = self.events.pop()
                acted |= self._event(kind, self.jobs[idx], epoch, now)
            if not acted:
                continue  # only stale events: nothing changed, and none is sampled
            self._schedule(now)
            if self.compactor is not None and self.queue.count == 0:
                self.compactor.run(now)
            if self.tuner.lends:
                for node in sorted(self.retune_nodes):
                    self.tuner.top_up(node, now)
            self.retune_nodes.clear()
            self.recorder.sample(now, self.queue.count > 0)
        self.state.check_invariants()
        self.tuner.check()
        self.counts["reclaims"] = self.tuner.reclaims
        self.counts["cpu_seconds"] = time.process_time() - cpu_started
        wall = time.perf_counter() - started
        return self.recorder.result(self.cfg, self.jobs, self.finished, self.counts, wall)


def run_time(
    fleet: Fleet, pods: PodTable, cfg: TimeConfig, profiles: ProfileBook | None = None
) -> TimeRun:
    """Replay ``pods`` over time on ``fleet``. ``profiles`` (Synergy's) are needed for
    the proportional and synergy allocations (default: the shared data's). Raises
    ValueError for a bad config or a pod list without times."""
    return Replay(fleet, pods, cfg, profiles).run()


__all__ = ["SCHEDULERS", "TimeConfig", "TimeRun", "run_time"]
