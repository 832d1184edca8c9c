"""A discrete-event GPU serving cluster: per-model FIFO queues, one request per replica
at a time, cold starts drawn from measured load latencies.

Groups of replicas each serve a set of base models (one model: a per-model group; many:
a pool with model affinity). A replica holds one model at a time. A new replica, and a
replica switching to another model, pays a cold start; a warm replica serving its own
model never does. Implements the engine's ``CloudAdapter`` for every group at once; time
moves only when ``advance`` is called, and everything is deterministic given the seed.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from autoscaler.model import CloudError, GroupSpec, GroupStatus, InstanceInfo, ScaleAction
from autoscaler.simulator.serving.host_cache import HostCache, LoadTimes
from autoscaler.simulator.serving.replicas import BUSY, IDLE, LOADING, GroupState, Replica
from autoscaler.simulator.serving.requests import RequestTrace
from autoscaler.simulator.serving.warm_set import WarmSetPolicy

_READY, _DONE = 0, 1  # event kinds; at equal times events come before arrivals


class ServingCluster:
    """Every serving group of one simulation; see the module docstring.

    ``group_of_model[m]`` is the group serving model ``m`` (-1: none; its requests are
    dropped). ``cold_starts`` are the measured load latencies (seconds) drawn from, with
    ``host_cache`` deciding which of them a load may draw (``host_cache.py``);
    ``warm_set`` chooses which models idle pooled replicas keep (``warm_set.py``).
    ``wait_for_warm`` (seconds): a request whose model has a busy replica finishing
    within it waits for that replica rather than switching an idle one (0: never)."""

    capabilities = frozenset({"absolute_count"})

    def __init__(
        self,
        trace: RequestTrace,
        group_names: Sequence[str],
        group_of_model: np.ndarray,
        cold_starts: np.ndarray,
        *,
        seed: int = 0,
        bin_seconds: float = 2.0,
        horizon: float | None = None,
        warm_set: WarmSetPolicy | None = None,
        host_cache: HostCache | None = None,
        wait_for_warm: float = 0.0,
    ) -> None:
        self.trace = trace
        self.warm_set = warm_set if warm_set is not None else WarmSetPolicy("lru")
        self.start = trace.start
        self.bin_seconds = bin_seconds
        end = horizon if horizon is not None else float(trace.arrival[-1]) + 3600.0
        self.horizon = end
        n_bins = int(end // bin_seconds) + 2
        self.group_of_model = np.asarray(group_of_model, dtype=np.int64)
        self.groups = [
            GroupState(
                name,
                tuple(int(m) for m in np.flatnonzero(self.group_of_model == g)),
                n_bins,
                bin_seconds,
                n_models=len(trace.models),
                half_life=self.warm_set.decay_seconds,
            )
            for g, name in enumerate(group_names)
        ]
        self.index = {name: g for g, name in enumerate(group_names)}
        self.latencies = np.asarray(cold_starts, dtype=float)
        self.host_cache = host_cache if host_cache is not None else HostCache()
        self.wait_for_warm = wait_for_warm
        self.loads = LoadTimes(self.latencies, self.host_cache, np.random.default_rng(seed))
        self.req_group = self.group_of_model[trace.model]
        self.arrivals = [
            np.bincount(
                (trace.arrival[self.req_group == g] // bin_seconds).astype(np.int64),
                minlength=n_bins,
            )[:n_bins].astype(float)
            for g in range(len(self.groups))
        ]
        # plain lists: the event loop reads one element at a time
        self._arrival = trace.arrival.tolist()
        self._exec = trace.exec_seconds.tolist()
        self._model = trace.model.tolist()
        self._req_group = self.req_group.tolist()
        n = len(trace)
        self.started = np.full(n, np.nan)
        self.start_order: list[int] = []  # requests in the order they started (by time)
        self.behind_cold = np.zeros(n, dtype=bool)
        self.next_request = 0
        self.t = 0.0
        self.events: list[tuple[float, int, int, Replica]] = []
        self.seq = 0
        self.applied: set[str] = set()
        self.actions = 0
        self.replica_log: list[tuple[float, int]] = [(0.0, 0)]  # (time, replicas billed)
        self.ids: dict[str, Replica] = {}

    # ------------------------------------------------------------ time

    def seconds(self, now: datetime) -> float:
        return (now - self.start).total_seconds()

    def advance(self, now: datetime | float) -> None:
        """Process every arrival, cold-start end and completion due by ``now``."""
        until = now if isinstance(now, float) else self.seconds(now)
        arrival, events = self._arrival, self.events
        n = len(arrival)
        inf = float("inf")
        while True:
            te = events[0][0] if events else inf
            i = self.next_request
            ta = arrival[i] if i < n else inf
            if te <= ta and te <= until:
                t, _, kind, rep = heapq.heappop(events)
                self.t = t
                if not rep.removed or rep.draining:
                    (self._ready if kind == _READY else self._done)(rep, t)
            elif ta <= until:
                self.t = ta
                self.next_request = i + 1
                self._arrive(i, ta)
            else:
                break
        self.t = max(self.t, until)
        for g in self.groups:
            self._flush(g, until)

    def _push(self, t: float, kind: int, rep: Replica) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, rep))

    def _flush(self, g: GroupState, t: float) -> None:
        """Add the request-seconds in system since the last flush to their bins."""
        t0, g.last_flush = g.last_flush, t
        c = g.in_system
        if c == 0 or t <= t0:
            return
        w = self.bin_seconds
        k0, k1 = int(t0 // w), int(t // w)
        conc = g.concurrency
        if k0 == k1:
            conc[k0] += c * (t - t0)
            return
        conc[k0] += c * ((k0 + 1) * w - t0)
        if k1 > k0 + 1:  # whole bins between (most flushes end in the next bin: no slice)
            conc[k0 + 1 : k1] += c * w
        if k1 < len(conc):
            conc[k1] += c * (t - k1 * w)

    def _bill(self, g: GroupState, t: float, delta: int) -> None:
        g.gpu_seconds += g.billed * (t - g.last_bill)
        g.last_bill = t
        g.billed += delta
        total = self.replica_log[-1][1] + delta
        if self.replica_log[-1][0] == t:
            self.replica_log[-1] = (t, total)
        else:
            self.replica_log.append((t, total))

    # ------------------------------------------------------------ requests

    def _arrive(self, r: int, t: float) -> None:
        gi = self._req_group[r]
        if gi < 0:
            return
        g = self.groups[gi]
        m = self._model[r]
        self._flush(g, t)
        g.in_system += 1
        g.last_busy = t
        g.scores.bump(m, t)
        warm = g.idle.get(m)
        if warm:
            self._start(r, warm.pop(), t, False)
            return
        q = g.queues.get(m)
        if q is None:
            q = g.queues[m] = deque()
        q.append(r)
        if g.covering(m, t, self.wait_for_warm) < len(q):
            self._switch_idle(g, m, t)

    def _start(self, r: int, rep: Replica, t: float, behind_cold: bool) -> None:
        rep.state = BUSY
        self.started[r] = t
        self.start_order.append(r)
        self.behind_cold[r] = behind_cold
        g = self.groups[rep.group]
        g.exec_seconds += self._exec[r]
        rep.finish = t + self._exec[r]
        if self.wait_for_warm:
            g.finishing.setdefault(rep.model, []).append(rep.finish)
        self._push(rep.finish, _DONE, rep)

    def _done(self, rep: Replica, t: float) -> None:
        g = self.groups[rep.group]
        self._flush(g, t)
        g.in_system -= 1
        g.last_busy = t
        rep.last_used = t
        if self.wait_for_warm and not rep.draining:
            g.finishing[rep.model].remove(rep.finish)
        if rep.draining:
            rep.draining = False
            self._bill(g, t, -1)
            self.loads.release(rep.cache)
            return
        self._free(g, rep, t)

    def _ready(self, rep: Replica, t: float) -> None:
        g = self.groups[rep.group]
        g.loading[rep.model] -= 1
        g.load_seconds += t - rep.load_start
        if rep.first_load:
            rep.first_load = False
            g.booting -= 1
        r = self._pop(g, rep.model)
        if r is not None:
            self._start(r, rep, t, True)
        else:
            self._free(g, rep, t)

    @staticmethod
    def _pop(g: GroupState, m: int) -> int | None:
        """The oldest waiting request for model ``m`` (None: none); an emptied queue is
        dropped, so ``g.queues`` holds only models with requests waiting."""
        q = g.queues.get(m)
        if not q:
            return None
        r = q.popleft()
        if not q:
            del g.queues[m]
        return r

    def _free(self, g: GroupState, rep: Replica, t: float) -> None:
        """A replica is free: its own model's queue first, else load the model whose
        oldest request no loading replica will take (warm-set: switch), else idle."""
        r = self._pop(g, rep.model)
        if r is not None:
            self._start(r, rep, t, False)
            return
        m = self._uncovered(g, t)
        if m is None and len(g.models) > 1 and self.warm_set.rewarms:
            warm = {k: len(v) for k, v in g.idle.items() if v}
            for k, n in g.loading.items():
                warm[k] = warm.get(k, 0) + n
            m = self.warm_set.rewarm(rep.model, warm, g.models, g.scores.at(t))
        if m is not None:
            self._load(g, rep, m, t)
            return
        rep.state = IDLE
        g.idle.setdefault(rep.model, []).append(rep)

    def _uncovered(self, g: GroupState, t: float) -> int | None:
        """The model with the oldest waiting request beyond what loading replicas (and
        busy ones finishing within ``wait_for_warm``) take."""
        best, best_r = None, None
        w = self.wait_for_warm
        loading = g.loading
        for m, q in g.queues.items():
            if best_r is not None and q[0] >= best_r:
                continue
            if (g.covering(m, t, w) if w else loading.get(m, 0)) < len(q):
                best, best_r = m, q[0]
        return best

    def _switch_idle(self, g: GroupState, m: int, t: float) -> None:
        """An idle replica, if any, switches to model ``m``: with the host cache's
        affinity, the least recently used of those holding ``m`` in host memory, else
        the warm set's victim."""
        idle = g.idle_list()
        if self.host_cache.affinity and self.host_cache.models:
            held = [r for r in idle if m in r.cache]
            if held:
                idle = [min(held, key=lambda r: r.last_used)]
        i = self.warm_set.victim(idle, g.scores.at(t))
        if i is not None:
            rep = idle[i]
            g.idle[rep.model].remove(rep)
            self._load(g, rep, m, t)

    def _load(self, g: GroupState, rep: Replica, m: int, t: float) -> None:
        """Start loading model ``m`` on ``rep`` (a cold start)."""
        rep.model, rep.state, rep.load_start = m, LOADING, t
        g.loading[m] = g.loading.get(m, 0) + 1
        g.cold_starts += 1
        if not rep.first_load:
            g.switches += 1
        seconds, hit = self.loads.draw(rep.cache, m)
        g.cache_hits += hit
        self._push(t + seconds, _READY, rep)

    # ------------------------------------------------------------ the cloud adapter

    def _group(self, name: str) -> GroupState:
        gi = self.index.get(name)
        if gi is None:
            raise CloudError(f"group {name!r} does not exist in the serving cluster")
        return self.groups[gi]

    def status(self, group: GroupSpec) -> GroupStatus:
        g = self._group(group.name)
        return GroupStatus(len(g.live) - g.booting, g.booting)

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        g = self._group(group.name)
        return [InstanceInfo(r.id, self._time(r.created), ready=not r.first_load) for r in g.live]

    def _time(self, t: float) -> datetime:
        from datetime import timedelta

        return self.start + timedelta(seconds=t)

    def scale(self, action: ScaleAction) -> None:
        if action.action_id in self.applied:
            return
        g = self._group(action.group)
        t = self.seconds(action.created_at)
        if len(g.live) != action.current:
            raise CloudError(
                f"group {action.group} has {len(g.live)} replicas, "
                f"the action expected {action.current}"
            )
        delta = action.target - action.current
        for _ in range(max(0, delta)):
            self._add(g, t)
        if delta < 0:
            self._remove(g, -delta, t)
        self.applied.add(action.action_id)
        self.actions += 1

    def _add(self, g: GroupState, t: float) -> None:
        g.seq += 1
        m = self._uncovered(g, t)
        if m is None:  # warm-set: the group's most requested model, fewest replicas first
            live = np.asarray([r.model for r in g.live], dtype=np.int64)
            held = np.bincount(live, minlength=g.n_models)
            m = self.warm_set.new_model(g.model_array, held, g.scores.at(t))
        rep = Replica(f"{g.name}-{g.seq}", self.index[g.name], t, m, last_used=t)
        rep.cache = self.loads.host_for(m)
        self.ids[rep.id] = rep
        g.live.append(rep)
        g.booting += 1
        g.launched += 1
        self._bill(g, t, +1)
        self._load(g, rep, m, t)

    def _remove(self, g: GroupState, n: int, t: float) -> None:
        """Idle replicas first (least recently used), then loading ones (newest first),
        then busy ones, which drain: they finish their request and are billed until then."""
        free = g.idle_list()
        order = self.warm_set.removal_order(free, g.scores.at(t))
        idle = [free[i] for i in order]
        loading = [r for r in reversed(g.live) if r.state == LOADING]
        busy = [r for r in reversed(g.live) if r.state == BUSY]
        for rep in (idle + loading + busy)[:n]:
            g.live.remove(rep)
            rep.removed = True
            if rep.state != BUSY:
                self.loads.release(rep.cache)
            if rep.state == IDLE:
                g.idle[rep.model].remove(rep)
                self._bill(g, t, -1)
            elif rep.state == LOADING:
                g.loading[rep.model] -= 1
                g.load_seconds += t - rep.load_start
                g.booting -= rep.first_load
                self._bill(g, t, -1)
                q = g.queues.get(rep.model)
                if q and g.covering(rep.model, t, self.wait_for_warm) < len(q):
                    # a waiting request lost the replica loading for it: another may take it
                    self._switch_idle(g, rep.model, t)
            else:
                rep.draining = True
                if self.wait_for_warm:  # it will not take another request
                    g.finishing[rep.model].remove(rep.finish)
                    q = g.queues.get(rep.model)
                    if q and g.covering(rep.model, t, self.wait_for_warm) < len(q):
                        self._switch_idle(g, rep.model, t)

    # ------------------------------------------------------------ reading results

    def idle_since(self, name: str) -> float | None:
        """When the group last had a request (None while it has replicas or requests)."""
        g = self._group(name)
        if g.billed or g.in_system:
            return None
        return g.last_busy

    def gpu_seconds(self, name: str | None = None) -> float:
        groups = self.groups if name is None else [self._group(name)]
        return sum(g.gpu_seconds + g.billed * (self.t - g.last_bill) for g in groups)
