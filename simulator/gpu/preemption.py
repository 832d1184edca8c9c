"""Choosing whom to evict so that one waiting job fits on one node.

The caller says which running jobs may be evicted (the scheduler's rule, or borrowed
quota being returned) and in which order (first evicted first). For every node holding
such jobs, evict in that order until the waiting job fits; take the node that needs
the least GPU evicted (then the fewest jobs), so that preemption costs as little
service as it can. Nothing is changed here: the caller stops the victims.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from autoscaler.simulator.gpu.placement import PodRequest
from autoscaler.simulator.gpu.pods import QOS_PRIORITY
from autoscaler.simulator.gpu.running_index import Entry
from autoscaler.simulator.gpu.state import ClusterState
from autoscaler.simulator.gpu.time_jobs import TimeJob

if TYPE_CHECKING:
    from autoscaler.simulator.gpu.time_replay import Replay


def fits(
    state: ClusterState,
    req: PodRequest,
    node: int,
    cpu: int,
    mem: int,
    extra_cpu: int = 0,
    extra_mem: int = 0,
    extra_gpu: Sequence[int] | None = None,
) -> bool:
    """Whether ``req`` (needing ``cpu``/``mem`` on ``node``) fits there once ``extra_*``
    more is free (``extra_gpu``: milli per GPU of the node)."""
    if state.cpu_list[node] + extra_cpu < cpu or state.mem_list[node] + extra_mem < mem:
        return False
    if req.num_gpu == 0:
        return True
    model = state.model_list[node]
    if model < 0 or not req.models[model]:
        return False
    milli, row = req.gpu_milli, state.gpu_lists[node]
    if extra_gpu is None:
        room = sum(1 for x in row if x >= milli)
    else:
        room = sum(1 for x, e in zip(row, extra_gpu, strict=True) if x + e >= milli)
    return room >= req.num_gpu


def choose_victims(
    state: ClusterState,
    req: PodRequest,
    need: Callable[[int], tuple[int, int]],
    candidates: Sequence[TimeJob],
    owed: int = 0,
    arrange: Callable[[list[TimeJob]], list[TimeJob]] | None = None,
) -> tuple[int, list[TimeJob]] | None:
    """(node, jobs to evict there, in order) so that ``req`` fits and at least ``owed``
    GPU milli of quota is freed, or None. ``need(node)`` is the CPU and memory the job
    must find on that node; ``candidates`` are running jobs in eviction order
    (``arrange``, if given, reorders or drops a node's share of them)."""
    by_node: dict[int, list[TimeJob]] = {}
    for v in candidates:
        assert v.placement is not None
        by_node.setdefault(v.placement.node, []).append(v)
    if arrange is not None:
        by_node = {n: arrange(vs) for n, vs in by_node.items()}
        by_node = {n: vs for n, vs in by_node.items() if vs}
    best: tuple[tuple[int, int], int, list[TimeJob]] | None = None
    gpu_free = state.gpu_left.sum(axis=1) if by_node else None
    for node, victims in by_node.items():
        cpu, mem = need(node)
        assert gpu_free is not None
        if not room_by_evicting(
            (int(state.cpu_left[node]), int(state.mem_left[node]), int(gpu_free[node])),
            _total(victims),
            (cpu, mem, req.total_gpu_milli),
            owed,
        ):
            continue
        chosen = _greedy(state, req, node, cpu, mem, victims, owed)
        if chosen is None:
            continue
        cost = (sum(v.req.total_gpu_milli for v in chosen), len(chosen))
        if best is None or cost < best[0]:
            best = (cost, node, chosen)
    return None if best is None else (best[1], best[2])


def return_quota(replay: Replay, j: TimeJob, owed: int, now: float) -> bool:
    """Evict jobs of partitions over their quota, latest started first, until ``owed``
    milli is back (any node: the quota is owed wherever they run); nothing is evicted
    (False) when they hold too little."""
    ledger, index = replay.ledger, replay.index
    over = [p for p in ledger.quota if p != j.partition and ledger.over_quota(p)]
    lists = [index.latest[p] for p in over if p in index.latest]
    held = {p: ledger.held[p] for p in over}
    victims, left = [], owed
    for e in lists[0] if len(lists) == 1 else sorted(chain(*lists)):
        if left <= 0:
            break
        v = replay.jobs[e[2]]
        if held[v.partition] > ledger.quota[v.partition]:
            held[v.partition] -= v.req.total_gpu_milli
            left -= v.req.total_gpu_milli
            victims.append(v)
    if left > 0:
        return False
    for v in victims:
        replay.preempt(v, now, "quota_returns")
    return True


def find_victims(
    replay: Replay, j: TimeJob, now: float, owed: int = 0, nodes: Iterable[int] | None = None
) -> tuple[int, list[TimeJob]] | None:
    """(node, jobs to evict there, in order) so that ``j`` fits and ``owed`` milli of
    quota comes back, or None: borrowed quota of other partitions first (when ``j`` is
    inside its own), then the jobs ``j`` outranks (with preemption); the node where the
    least GPU goes. With preemption, a ``j`` over its own quota may evict only jobs of
    its own partition that it outranks, at least ``own_excess`` of them (so that it is
    then inside its quota). ``nodes``: search only those (default: all)."""
    order, cfg = replay.order, replay.cfg
    if order.scheduler == "sjf":  # SRTF keys change as jobs run: scan them all
        if not (cfg.preempts or cfg.borrowing):
            return None
        return plain_choice(replay, j, now, owed)
    ledger = replay.ledger
    own = ledger.within_own(j.partition, j.req.total_gpu_milli)
    preempts = cfg.preempts and own  # a job that would borrow only takes idle GPUs
    # Over its own quota: evict only its own partition's jobs, enough to get back inside.
    intra = cfg.preempts_in_partition and not own
    if intra:
        owed = max(owed, ledger.own_excess(j.partition, j.req.total_gpu_milli))
    over = (
        [p for p in ledger.quota if p != j.partition and ledger.over_quota(p)]
        if cfg.borrowing and own
        else []
    )
    if not over and not preempts and not intra:
        return None
    mine = order.primary(j)
    if order.scheduler == "priority":  # only BE (the largest key) is ever evicted
        mine = max(mine, QOS_PRIORITY["BE"] - 0.5)
    index, state, jobs = replay.index, replay.state, replay.jobs
    if intra:
        nodes = [
            n
            for n in (range(len(index.nodes)) if nodes is None else nodes)
            if index.outranked_of_partition(n, j.partition, mine)
        ]
        if not nodes:
            return None
    elif not over:  # only jobs ``j`` outranks: skip the nodes that hold none at once
        first = -mine  # an entry's first element is minus its job's primary key
        lists = index.nodes
        nodes = [
            n
            for n in (range(len(lists)) if nodes is None else nodes)
            if lists[n] and lists[n][0][0] < first
        ]
        if not nodes:
            return None
    others = [p for p in ledger.quota if p not in over] if over else []

    def may_preempt(v: TimeJob) -> bool:
        return preempts and order.outranks(j, v)

    best: tuple[tuple[int, int], tuple, int, list[TimeJob]] | None = None
    for node in range(len(index.nodes)) if nodes is None else nodes:
        if not index.nodes[node]:
            continue
        if intra:
            entries = index.outranked_of_partition(node, j.partition, mine)
            tie = (1, entries[0])
            victims = [jobs[e[4]] for e in entries]
            total = _total(victims)
        elif over:
            mine_first = [index.of_partition(node, p) for p in over]
            taken = _merged(mine_first)
            tail = _merged([index.outranked_of_partition(node, p, mine) for p in others])
            tail = tail if preempts else []
            if not taken and not tail:
                continue
            tie = (0, taken[0]) if taken else (1, tail[0])
            victims = limit_borrowed(
                replay, [jobs[e[4]] for e in taken], [jobs[e[4]] for e in tail], may_preempt
            )
            total = _total(victims)
        else:
            entries = index.outranked_on(node, mine)
            if not entries:
                continue
            tie = (1, entries[0])
            total = index.outranked_total(node, mine)
            victims = [jobs[e[4]] for e in entries]
        cpu, mem = replay.need(j, node)
        if not room_by_evicting(
            (state.cpu_list[node], state.mem_list[node], sum(state.gpu_lists[node])),
            total,
            (cpu, mem, j.req.total_gpu_milli),
            owed,
        ):
            continue
        chosen = _greedy(state, j.req, node, cpu, mem, victims, owed)
        if chosen is None:
            continue
        cost = (sum(v.req.total_gpu_milli for v in chosen), len(chosen))
        if best is None or (cost, tie) < (best[0], best[1]):
            best = (cost, tie, node, chosen)
    return None if best is None else (best[2], best[3])


def room_by_evicting(
    free: tuple[int, int, int],
    evictable: tuple[int, int, int],
    need: tuple[int, int, int],
    owed: int,
) -> bool:
    """Whether evicting everything in ``evictable`` (CPU, memory, GPU milli held on one
    node) could leave room for ``need`` next to what is ``free`` there and give back
    ``owed`` GPU milli: a necessary condition, checked before any search."""
    return (
        free[0] + evictable[0] >= need[0]
        and free[1] + evictable[1] >= need[1]
        and free[2] + evictable[2] >= need[2]
        and evictable[2] >= owed
    )


def _merged(lists: list[list[Entry]]) -> list[Entry]:
    lists = [x for x in lists if x]
    if len(lists) <= 1:
        return list(lists[0]) if lists else []
    return sorted(chain(*lists))


def _total(victims: list[TimeJob]) -> tuple[int, int, int]:
    cpu = mem = gpu = 0
    for v in victims:
        cpu, mem, gpu = cpu + v.held.cpu, mem + v.held.mem, gpu + v.req.total_gpu_milli
    return cpu, mem, gpu


def limit_borrowed(
    replay: Replay,
    borrowed: list[TimeJob],
    rest: list[TimeJob],
    may_preempt: Callable[[TimeJob], bool],
) -> list[TimeJob]:
    """Eviction order on one node: ``borrowed`` (jobs of partitions over their quota,
    in eviction order) go first, but each partition only up to what it is over its
    quota (the job that crosses back under it included); its other jobs may only be
    preempted as anyone's are (``may_preempt``), in eviction order with ``rest``.
    Without this limit a lender could evict a borrower's jobs inside the borrower's
    own quota, which would then preempt the lender back, forever."""
    ledger, entry = replay.ledger, replay.index.entry
    over_by: dict[str | None, int] = {}
    first, later = [], []
    for v in borrowed:
        p = v.partition
        assert p is not None
        left = over_by.get(p, ledger.held[p] - ledger.quota[p])
        if left > 0:
            over_by[p] = left - v.req.total_gpu_milli
            first.append(v)
        elif may_preempt(v):
            later.append(v)
    if later:
        rest = sorted(later + rest, key=lambda v: entry[v.idx])
    return first + rest


def plain_choice(
    replay: Replay, j: TimeJob, now: float, owed: int = 0
) -> tuple[int, list[TimeJob]] | None:
    """``find_victims`` by scanning every running job (``victims_for``): for ``sjf``,
    and the reference the index is tested against."""
    cfg = replay.cfg
    if not (cfg.preempts or cfg.borrowing):
        return None
    victims = victims_for(replay, j, now)
    own = replay.ledger.within_own(j.partition, j.req.total_gpu_milli)
    if cfg.preempts_in_partition and not own:  # as ``find_victims``: its own jobs only
        owed = max(owed, replay.ledger.own_excess(j.partition, j.req.total_gpu_milli))
    borrowed = {
        v.idx
        for v in victims
        if cfg.borrowing
        and own
        and v.partition != j.partition
        and replay.ledger.over_quota(v.partition)
    }

    def arrange(vs: list[TimeJob]) -> list[TimeJob]:
        return limit_borrowed(
            replay,
            [v for v in vs if v.idx in borrowed],
            [v for v in vs if v.idx not in borrowed],
            lambda v: cfg.preempts and own and replay.order.outranks(j, v),
        )

    return choose_victims(replay.state, j.req, lambda n: replay.need(j, n), victims, owed, arrange)


def _greedy(
    state: ClusterState,
    req: PodRequest,
    node: int,
    cpu: int,
    mem: int,
    victims: Sequence[TimeJob],
    owed: int = 0,
) -> list[TimeJob] | None:
    """Evict ``victims`` in order until ``req`` fits on ``node`` and ``owed`` milli is
    freed; None if that never happens or it holds already."""
    extra_gpu = [0] * len(state.gpu_lists[node])
    extra_cpu = extra_mem = freed = 0
    chosen: list[TimeJob] = []
    for v in victims:
        if freed >= owed and fits(state, req, node, cpu, mem, extra_cpu, extra_mem, extra_gpu):
            break
        freed += v.req.total_gpu_milli
        chosen.append(v)
        extra_cpu += v.held.cpu
        extra_mem += v.held.mem
        assert v.placement is not None
        for g in v.placement.gpus:
            extra_gpu[g] += v.req.gpu_milli
    if not chosen or freed < owed:
        return None
    return chosen if fits(state, req, node, cpu, mem, extra_cpu, extra_mem, extra_gpu) else None


def _ranked(replay: Replay) -> list[tuple[float, TimeJob]]:
    """Running jobs as (primary key, job), largest key (lowest priority) first."""
    primary = replay.order.primary
    return sorted(((primary(v), v) for v in replay.running.values()), key=lambda kv: -kv[0])


def victims_for(replay: Replay, j: TimeJob, now: float) -> list[TimeJob]:
    """Running jobs ``j`` may evict, first evicted first: borrowed quota of other
    partitions (when ``j`` is inside its own), then the jobs ``j`` outranks (of its own
    partition only when ``j`` is over its own quota). A scan of
    every running job, for ``sjf`` (whose keys change as jobs run) and as the reference
    ``find_victims`` is tested against."""
    order = replay.order
    if order.scheduler == "sjf":
        for v in replay.running.values():
            v.account(max(now, v.run_start))  # SRTF compares the work left now
            replay.index.refresh(v)
    own = replay.ledger.within_own(j.partition, j.req.total_gpu_milli)
    reclaim = replay.cfg.borrowing and own
    ranked = _ranked(replay)
    mine = order.primary(j)
    if not reclaim and (not ranked or mine >= ranked[0][0]):
        return []  # outranks nobody: skip the scan
    out = []
    for key, v in ranked if reclaim else ranked[: _outranked(ranked, mine)]:
        if reclaim and v.partition != j.partition and replay.ledger.over_quota(v.partition):
            out.append((0, v))
        elif (
            replay.cfg.preempts
            and (own or (replay.cfg.preempts_in_partition and v.partition == j.partition))
            and key > mine
            and order.outranks(j, v)
        ):
            out.append((1, v))
    out.sort(key=lambda kv: (kv[0], order.victim_rank(kv[1])))
    return [v for _, v in out]


def _outranked(ranked: list[tuple[float, TimeJob]], mine: float) -> int:
    """How many of ``ranked`` (largest key first) have a key above ``mine``."""
    lo, hi = 0, len(ranked)
    while lo < hi:
        mid = (lo + hi) // 2
        if ranked[mid][0] > mine:
            lo = mid + 1
        else:
            hi = mid
    return lo
