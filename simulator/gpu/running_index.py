"""The running jobs in eviction order, kept sorted as jobs start, stop and change priority,
so that finding whom a waiting job may evict costs a bisection per node, not a scan and
a sort of every running job per attempt.

A job's entry is ``JobOrder.victim_rank`` (lowest priority, most attained service,
latest started first) then its start sequence number (the order the replay started
jobs in, which is how the former scan broke ties). ``log`` records the node of every
change (a job starting, stopping or being re-keyed there): every change to the cluster
state goes with one, so a node absent from ``changed_since(mark)`` is as it was. Entries are kept per node and per
(node, partition), with per-node, per-priority totals of the CPU, memory and GPU milli
the jobs hold, and per partition in latest-started-first order (for returning borrowed
quota). The replay calls ``add`` when a job starts, ``remove`` when it stops,
``refresh`` when a running job's rank inputs change (its service was booked, a
priority change, a re-grant) and ``rebuild`` when every key may have changed (a
refitted Gittins index).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

import numpy as np

from autoscaler.simulator.gpu.job_order import JobOrder
from autoscaler.simulator.gpu.time_jobs import TimeJob

Entry = tuple[float, float, float, int, int]  # victim_rank..., start seq, job idx


class RunningIndex:
    def __init__(self, order: JobOrder, nodes: int) -> None:
        self.order = order
        self.entry: dict[int, Entry] = {}
        self.late: dict[int, tuple[float, int, int]] = {}
        self.where: dict[int, tuple[int, str | None]] = {}
        self.nodes: list[list[Entry]] = [[] for _ in range(nodes)]
        self.parts: dict[tuple[int, str | None], list[Entry]] = {}
        self.latest: dict[str | None, list[tuple[float, int, int]]] = {}
        # node -> primary key -> [cpu, mem, gpu milli, jobs] held there by jobs at that key
        self.sums: list[dict[float, list[int]]] = [{} for _ in range(nodes)]
        self.part_sums: dict[tuple[int, str | None], list[int]] = {}
        self.log: list[int] = []  # the node of every change, in order
        self._free_mark = -1
        self._free = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.entry)

    def __contains__(self, idx: int) -> bool:
        return idx in self.entry

    def add(self, j: TimeJob, seq: int) -> None:
        assert j.placement is not None and j.idx not in self.entry
        rank = self.order.victim_rank(j)
        e: Entry = (rank[0], rank[1], rank[2], seq, j.idx)
        node, part = j.placement.node, j.partition
        self.entry[j.idx] = e
        self.where[j.idx] = (node, part)
        insort(self.nodes[node], e)
        insort(self.parts.setdefault((node, part), []), e)
        late = (-j.run_start, seq, j.idx)
        self.late[j.idx] = late
        insort(self.latest.setdefault(part, []), late)
        self._count(node, part, -e[0], j, 1)
        self.log.append(node)

    def remove(self, j: TimeJob) -> None:
        e = self.entry.pop(j.idx)
        node, part = self.where.pop(j.idx)
        _drop(self.nodes[node], e)
        _drop(self.parts[(node, part)], e)
        _drop(self.latest[part], self.late.pop(j.idx))
        self._count(node, part, -e[0], j, -1)
        self.log.append(node)

    def refresh(self, j: TimeJob) -> None:
        """Re-key ``j`` (no-op when it is not indexed)."""
        e = self.entry.get(j.idx)
        if e is not None:
            self.remove(j)
            self.add(j, e[3])

    def rebuild(self, jobs: Iterable[TimeJob]) -> None:
        for j in list(jobs):
            self.refresh(j)

    def _count(self, node: int, part: str | None, key: float, j: TimeJob, sign: int) -> None:
        held = (j.held.cpu, j.held.mem, j.req.total_gpu_milli, 1)
        per = self.sums[node].setdefault(key, [0, 0, 0, 0])
        tot = self.part_sums.setdefault((node, part), [0, 0, 0, 0])
        for k in range(4):
            per[k] += sign * held[k]
            tot[k] += sign * held[k]
        if per[3] == 0:
            del self.sums[node][key]

    # changes -------------------------------------------------------------------------
    @property
    def mark(self) -> int:
        """A point in the change log (see ``changed_since``)."""
        return len(self.log)

    def changed_since(self, mark: int) -> set[int]:
        """Nodes where a job started, stopped or was re-keyed since ``mark``."""
        return set(self.log[mark:])

    def gpu_free(self, gpu_left: np.ndarray) -> np.ndarray:
        """Free milli-GPU per node (``gpu_left`` summed), cached until the next change."""
        if self._free_mark != len(self.log):
            self._free = gpu_left.sum(axis=1)
            self._free_mark = len(self.log)
        return self._free

    # queries -------------------------------------------------------------------------
    def outranked_on(self, node: int, mine: float) -> list[Entry]:
        """Entries on ``node`` whose primary key is above ``mine``, first evicted first."""
        lst = self.nodes[node]
        return lst[: bisect_left(lst, (-mine,))]

    def outranked_total(self, node: int, mine: float) -> tuple[int, int, int]:
        """CPU, memory and GPU milli held on ``node`` by jobs keyed above ``mine``."""
        cpu = mem = gpu = 0
        for key, (c, m, g, _) in self.sums[node].items():
            if key > mine:
                cpu, mem, gpu = cpu + c, mem + m, gpu + g
        return cpu, mem, gpu

    def of_partition(self, node: int, part: str | None) -> list[Entry]:
        return self.parts.get((node, part), [])

    def partition_total(self, node: int, part: str | None) -> tuple[int, int, int]:
        t = self.part_sums.get((node, part))
        return (0, 0, 0) if t is None else (t[0], t[1], t[2])

    def outranked_of_partition(self, node: int, part: str | None, mine: float) -> list[Entry]:
        lst = self.parts.get((node, part), [])
        return lst[: bisect_left(lst, (-mine,))]

    def latest_first(self, part: str | None) -> list[int]:
        """Job indices of ``part`` running now, latest started first."""
        return [e[2] for e in self.latest.get(part, [])]


def _drop(lst: list, e: tuple) -> None:
    i = bisect_left(lst, e)
    assert i < len(lst) and lst[i] == e, "running index out of step"
    del lst[i]
