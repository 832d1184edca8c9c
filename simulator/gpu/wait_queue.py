"""The waiting jobs, grouped by request shape, each group a heap by the scheduler's key.

Grouping makes a scheduling pass cheap: when a group's best job cannot start, none of
the same shape (behind it in the order) can, so the group is skipped until something is
released or a priority changes (``stamp``). Entries are removed lazily: re-keying a job
(promotion, a refitted Gittins index) pushes a new entry and bumps ``qver``, and stale
entries are dropped when they reach the head. Not blocking: other groups' jobs start
while a group waits.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

import numpy as np

from autoscaler.simulator.gpu.time_jobs import TimeJob

Key = tuple[float, float, int]


def shape_of(j: TimeJob) -> tuple:
    r = j.req
    model = j.profile.model if j.profile is not None else ""
    return (
        r.cpu,
        r.mem,
        r.num_gpu,
        r.gpu_milli,
        tuple(np.flatnonzero(r.models)),
        j.prio,
        j.partition,
        model,
    )


class WaitQueue:
    def __init__(self, jobs: list[TimeJob]) -> None:
        self.jobs = jobs
        self.groups: dict[tuple, list[tuple[Key, int, int]]] = {}
        self.ready: set[tuple] = set()
        self.blocked: set[tuple] = set()
        self.stamp: tuple[int, int] | None = None
        self.count = 0

    def push(self, j: TimeJob, key: Key) -> None:
        """Add (or re-key) a waiting job."""
        if not j.waiting:
            j.waiting = True
            self.count += 1
        j.qver += 1
        g = shape_of(j)
        heapq.heappush(self.groups.setdefault(g, []), (key, j.qver, j.idx))
        self.blocked.discard(g)
        self.ready.add(g)

    def _head(self, g: tuple) -> tuple[Key, int] | None:
        q = self.groups[g]
        while q:
            key, ver, idx = q[0]
            j = self.jobs[idx]
            if j.waiting and j.qver == ver:
                return key, idx
            heapq.heappop(q)
        del self.groups[g]
        self.ready.discard(g)
        self.blocked.discard(g)
        return None

    def take(self, j: TimeJob) -> None:
        """``j`` starts: drop it from the queue (its entry goes stale)."""
        j.waiting = False
        j.qver += 1
        self.count -= 1

    def waiting(self) -> Iterator[TimeJob]:
        """Every waiting job (any order)."""
        seen: set[int] = set()
        for q in self.groups.values():
            for _, ver, idx in q:
                j = self.jobs[idx]
                if j.waiting and j.qver == ver and idx not in seen:
                    seen.add(idx)
                    yield j

    def rekey(self, key: Callable[[TimeJob], Key]) -> None:
        """Recompute every waiting job's key (e.g. after the Gittins index changed),
        dropping the stale entries."""
        jobs = list(self.waiting())
        self.groups.clear()
        self.blocked.clear()
        self.ready.clear()
        for j in jobs:
            self.push(j, key(j))

    def schedule_pass(self, stamp: tuple[int, int], try_start: Callable[[TimeJob], bool]) -> None:
        """Offer the heads to ``try_start`` in key order until every group is empty or
        blocked at ``stamp`` (a group stays blocked until the stamp changes)."""
        if stamp != self.stamp:
            self.ready |= self.blocked
            self.blocked.clear()
            self.stamp = stamp
        heads = []
        for g in list(self.ready):
            h = self._head(g)
            if h is not None:
                heads.append((h[0], g))
        heapq.heapify(heads)
        while heads:
            _, g = heapq.heappop(heads)
            if g not in self.groups:
                continue
            h = self._head(g)
            if h is None:
                continue
            j = self.jobs[h[1]]
            if try_start(j):
                nxt = self._head(g)
                if nxt is not None:
                    heapq.heappush(heads, (nxt[0], g))
            elif g in self.groups:
                self.ready.discard(g)
                self.blocked.add(g)
