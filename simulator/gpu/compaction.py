"""Compaction: with migration on, running GPU jobs also move when no job waits, if the
move lowers the cluster's FGD fragmentation (the measure ``time_measures.py`` reports).

``migration.py`` moves a job only so that a waiting job that fits nowhere can start;
once the queue is empty nothing else moved, so the jobs left running (in this trace the
longest, for weeks after the last arrival) stayed wherever the busy period had put them,
for example two GPU shares on two GPUs that one GPU could hold. Here, after every event
time at which nothing waits, the move of one running GPU job to another node that lowers
the summed fragmentation of the two nodes the most is made (or the move of a GPU share
to the tightest other GPU of its own node that holds it: two shares left on two GPUs of
one node), then the next, until none lowers it by at least ``MIN_GAIN_MILLI``. Each
mover pauses ``migration_cost_s`` (as in ``migration.py``) and is counted as a
migration and as a compaction. A job still paused
(restoring or moving) is not moved. Every move lowers the fleet's total fragmentation,
so moves cannot cycle.

The measure's typical pods are the shapes that cover 95 % of the pods (one GPU or less
each in openb), so it would gladly spread jobs over nodes that whole-node jobs need. A
move is therefore made only when its source then has at least as many idle GPUs as its
destination had before: idle GPUs gather, never split up (without this rule fifo at x1
lost a whole node for an 8-GPU job and its mean JCT rose 6 %).

Only moves touching a node that changed since the last compaction are evaluated (a job
leaving or moving off a node whose state has not changed was evaluated then and did not
pay; its destination is the same or changed), so the search is exact and cheap.
``MIN_GAIN_MILLI`` (10 milli-GPU: one hundredth of a GPU) was fixed before any run, not
tuned; it only keeps moves that change fragmentation by rounding noise out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from autoscaler.simulator.gpu.fleet import MILLI
from autoscaler.simulator.gpu.fragmentation import TypicalPods
from autoscaler.simulator.gpu.preemption import fits
from autoscaler.simulator.gpu.state import ClusterState, Placement

if TYPE_CHECKING:
    from autoscaler.simulator.gpu.time_jobs import TimeJob
    from autoscaler.simulator.gpu.time_replay import Replay

MIN_GAIN_MILLI = 10.0
MAX_MOVES_PER_CALL = 64

Move = tuple[float, int, int, int, int, int]  # -gain, GPU milli, job, source, dest, GPU or -1


def gpus_for(row: list[int], num_gpu: int, milli: int) -> tuple[int, ...]:
    """The GPUs ``Replay.gpus_on`` picks on a node with free amounts ``row``: the
    tightest GPU that fits a share (lowest index on ties), else the first idle ones."""
    if milli < MILLI:
        room = [(x, g) for g, x in enumerate(row) if x >= milli]
        return (min(room)[1],) if room else ()
    return tuple([g for g, x in enumerate(row) if x >= MILLI][:num_gpu])


class Compactor:
    def __init__(self, replay: Replay, typical: TypicalPods) -> None:
        self.rp = replay
        self.mark = 0
        self.releases = 0
        self.pending: set[int] = set()
        self._memo: dict[tuple[int, int, tuple[int, ...]], float] = {}
        self._movers: dict[int, tuple] = {}  # job -> (its node and version, what leaving does)
        self._shapes = _shapes_per_model(typical, len(replay.fleet.models))

    def frag(self, node: int, cpu: int, row: list[int] | tuple[int, ...]) -> float:
        """Fragmentation (milli-GPU) of ``node`` with ``cpu`` and ``row`` free: the FGD
        measure of ``fragmentation.node_frag``, in Python for one node, memoised."""
        model = self.rp.state.model_list[node]
        key = (model, cpu, tuple(row))
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = _node_frag(self._shapes, model, cpu, key[2])
        return value

    def run(self, now: float) -> int:
        """Make the moves that pay (nothing may be waiting); how many were made. Runs
        only once a job left a node since the last time (a start alone fills a node, which
        seldom makes a move pay; its node is evaluated with the next)."""
        rp = self.rp
        if rp.releases == self.releases and not self.pending:
            return 0
        changed = self.pending | rp.index.changed_since(self.mark)
        self.pending = set()
        made = 0
        while changed:
            if made == MAX_MOVES_PER_CALL:
                self.pending = changed
                break
            best = self._best(changed, now)
            if best is None:
                break
            _, _, k, src, dest, gpu = best
            self._move(rp.jobs[k], dest, gpu, now)
            made += 1
            changed = {src, dest}
        self.mark, self.releases = rp.index.mark, rp.releases
        return made

    def _best(self, changed: set[int], now: float) -> Move | None:
        rp, st = self.rp, self.rp.state
        here: dict[int, float] = {}

        def now_frag(n: int) -> float:
            value = here.get(n)
            if value is None:
                value = here[n] = self.frag(n, st.cpu_list[n], st.gpu_lists[n])
            return value

        every = _distinct(st, range(len(rp.on_node)))
        of_changed = _distinct(st, sorted(changed))
        request = rp.cfg.allocation == "request"
        never = [self._shapes[mi][0] if mi >= 0 else 0.0 for mi in st.model_list]
        # What a move can gain at most at its destination: the CPU-only (and other-model)
        # shapes' share of the GPU it takes there, plus all the fragmentation that
        # depends on where jobs sit (it cannot go below zero).
        slack = {
            d: now_frag(d) - never[d] * sum(st.gpu_lists[d]) for d in set(every) | set(of_changed)
        }
        idle = [sum(1 for x in row if x >= MILLI) for row in st.gpu_lists]
        best: Move | None = None
        seen: set[tuple] = set()
        versions = st.version.tolist()
        for src, jobs in enumerate(rp.on_node):
            for k in sorted(jobs):
                m = rp.jobs[k]
                r = m.req
                if r.num_gpu == 0 or m.run_start > now:
                    continue
                assert m.placement is not None
                mover = self._movers.get(k)
                if mover is None or mover[0] != (src, versions[src], st.cpu_list[src]):
                    # What leaving its node does, kept until that node changes.
                    left = list(st.gpu_lists[src])
                    for g in m.placement.gpus:
                        left[g] += r.gpu_milli
                    freed = now_frag(src) - self.frag(src, st.cpu_list[src] + m.held.cpu, left)
                    same = (src, r.num_gpu, r.gpu_milli, m.held.cpu, m.placement.gpus)
                    same += (r.models.tobytes(),)
                    idle_after = sum(1 for x in left if x >= MILLI)
                    mover = self._movers[k] = (
                        (src, versions[src], st.cpu_list[src]),
                        same,
                        left,
                        freed,
                        idle_after,
                    )
                _, same, left, freed, idle_left = mover
                if same in seen:  # an identical job on the same GPUs: the same moves
                    continue
                seen.add(same)
                total = r.total_gpu_milli
                if r.gpu_milli < MILLI and src in changed:  # to another GPU of its node
                    own = m.placement.gpus[0]
                    room = [(x, g) for g, x in enumerate(left) if g != own and x >= r.gpu_milli]
                    if room:
                        to = min(room)[1]
                        row = list(left)
                        row[to] -= r.gpu_milli
                        if sum(1 for x in row if x >= MILLI) >= idle[src]:
                            gain = now_frag(src) - self.frag(src, st.cpu_list[src], row)
                            move = (-gain, total, k, src, src, to)
                            if gain >= MIN_GAIN_MILLI and (best is None or move < best):
                                best = move
                for dest in every if src in changed else of_changed:
                    if (
                        dest == src
                        or idle_left < idle[dest]  # it would split idle GPUs up (see above)
                        or freed + never[dest] * total + slack[dest] < MIN_GAIN_MILLI
                    ):
                        continue
                    cpu, mem = (r.cpu, r.mem) if request else rp.need(m, dest)
                    if not fits(st, r, dest, cpu, mem):
                        continue
                    row = list(st.gpu_lists[dest])
                    for g in gpus_for(row, r.num_gpu, r.gpu_milli):
                        row[g] -= r.gpu_milli
                    gain = freed + now_frag(dest) - self.frag(dest, st.cpu_list[dest] - cpu, row)
                    if gain < MIN_GAIN_MILLI:
                        continue
                    move = (-gain, total, k, src, dest, -1)
                    if best is None or move < best:
                        best = move
        return best

    def _move(self, m: TimeJob, dest: int, gpu: int, now: float) -> None:
        rp = self.rp
        rp.stop(m, now)
        where = Placement(dest, (gpu,) if gpu >= 0 else rp.gpus_on(m.req, dest))
        moved = rp.start(m, where, now, rp.cfg.migration_cost_s)
        assert moved, "the destination was checked to fit"
        rp.counts["migrations"] += 1
        rp.counts["compactions"] += 1


def _distinct(st: ClusterState, nodes: Iterable[int]) -> list[int]:
    """The first of each group of ``nodes`` with the same model and free amounts (a move
    to any of them gains the same; the lowest index wins ties anyway)."""
    out, seen = [], set()
    for n in nodes:
        key = (st.model_list[n], st.cpu_list[n], st.mem_list[n], tuple(st.gpu_lists[n]))
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


class _ShapeGroup(NamedTuple):
    """Typical shapes asking for ``count`` GPUs of ``milli`` each, by CPU asked."""

    milli: int
    count: int
    cpus: list[int]  # ascending
    weight_below: list[float]  # weight of the shapes asking for less CPU than cpus[i]
    weight: float


def _shapes_per_model(tp: TypicalPods, models: int) -> list[tuple[float, list[_ShapeGroup]]]:
    """Per GPU model: the weight of the typical shapes that can never use it (CPU-only,
    or another model), and the shapes that may, grouped by GPUs and milli per GPU."""
    out = []
    for mi in range(models):
        by: dict[tuple[int, int], list[tuple[int, float]]] = {}
        for k in range(len(tp.weight)):
            if tp.milli[k] > 0 and tp.model_ok[k, mi]:
                key = (int(tp.milli[k]), int(tp.count[k]))
                by.setdefault(key, []).append((int(tp.cpu[k]), float(tp.weight[k])))
        groups = []
        for (milli, count), shapes in sorted(by.items()):
            shapes.sort()
            below = [0.0]
            for _, w in shapes:
                below.append(below[-1] + w)
            groups.append(_ShapeGroup(milli, count, [c for c, _ in shapes], below, below[-1]))
        out.append((1.0 - sum(g.weight for g in groups), groups))
    return out


def _node_frag(
    shapes: list[tuple[float, list[_ShapeGroup]]], model: int, cpu: int, row: tuple[int, ...]
) -> float:
    """``fragmentation.node_frag`` of one node: a shape that fits (CPU and enough GPUs
    with room) counts the GPUs too small for it, one that does not counts all free GPU."""
    if model < 0:
        return 0.0
    total = sum(row)
    never, groups = shapes[model]
    value = never * total
    ordered = sorted(row)
    for g in groups:
        small_n = bisect_left(ordered, g.milli)
        if len(ordered) - small_n < g.count:
            value += g.weight * total
            continue
        fitting = g.weight_below[bisect_right(g.cpus, cpu)]  # shapes asking <= cpu
        value += fitting * sum(ordered[:small_n]) + (g.weight - fitting) * total
    return value
