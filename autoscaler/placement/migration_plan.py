"""A rebalance as an action plan: capped live migrations and the efficacy they promise.

Pure. ``rebalance`` (relieve hot hosts, drain cold ones) proposes moves; this keeps
those that may run this round: only VMs that ``movable`` admits (ours, on a cloud shared
with others), at most ``MigrationCaps.per_round`` in all and ``per_host`` into or out of
any one host, a drained host's moves all or none (half a drain releases nothing), and
each move still within the target's allocation limits after the ones kept before it.
The rest are deferred to later rounds. The efficacy is what the plan expects over the
next ``period``, like Watcher's efficacy indicators: hosts released (used before, empty
after) and contention minutes avoided (hosts predicted above the contention threshold
before less after, times the period).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from autoscaler.placement.hosts import HostView
from autoscaler.placement.policies import InterferenceAwarePlacement
from autoscaler.placement.rebalance import Consolidation, Member, Move, rebalance


@dataclass(frozen=True, slots=True)
class MigrationCaps:
    """Live migrations one round may carry out. Raises ``ValueError`` when negative."""

    per_round: int = 32
    per_host: int = 16

    def __post_init__(self) -> None:
        if self.per_round < 0 or self.per_host < 1:
            raise ValueError(f"caps must be >= 0 a round and >= 1 a host: {self}")


@dataclass(frozen=True, slots=True)
class Efficacy:
    hosts_released: int
    contention_minutes_avoided: float
    hot_hosts_before: int
    hot_hosts_after: int


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """The moves to carry out, in order; those left for later; every host afterwards."""

    moves: tuple[Move, ...]
    deferred: tuple[Move, ...]
    released: tuple[str, ...]
    efficacy: Efficacy
    hosts: tuple[HostView, ...]


def plan_migrations(
    policy: InterferenceAwarePlacement,
    hosts: Sequence[HostView],
    members: Mapping[str, Member],
    *,
    consolidation: Consolidation | None,
    caps: MigrationCaps,
    period: timedelta,
    movable: Callable[[str], bool] = lambda vm: True,
) -> MigrationPlan:
    """See the module docstring. ``hosts`` carry fresh predictions; ``members`` every VM
    on them. Raises ``ValueError`` as ``rebalance`` does."""
    proposed = rebalance(policy, hosts, members, consolidation)
    views = {v.host.name: v for v in hosts}
    order = [v.host.name for v in hosts]
    touched: Counter[str] = Counter()
    kept: list[Move] = []
    deferred: list[Move] = []
    for batch in _batches(proposed.moves):
        trial = dict(views)
        ok = all(movable(m.vm) for m in batch)
        ok = ok and len(kept) + len(batch) <= caps.per_round
        counts = touched + Counter(h for m in batch for h in (m.source, m.target))
        ok = ok and all(counts[h] <= caps.per_host for h in counts)
        for m in batch if ok else ():
            member = members[m.vm]
            d = member.demand
            if m.vm not in trial[m.source].vms or not trial[m.target].fits(member.vm.flavor):
                ok = False
                break
            trial[m.source] = trial[m.source].without_vm(member.vm, d.mean, d.var)
            trial[m.target] = trial[m.target].with_vm(member.vm, d.mean, d.var)
        if ok:
            views, touched = trial, counts
            kept.extend(batch)
        else:
            deferred.extend(batch)
    after = [views[name] for name in order]
    released = tuple(v.host.name for v, a in zip(hosts, after, strict=True) if v.vms and not a.vms)
    hot_before = sum(1 for v in hosts if v.vms and policy.predicted(v) > policy.threshold)
    hot_after = sum(1 for v in after if v.vms and policy.predicted(v) > policy.threshold)
    efficacy = Efficacy(
        len(released),
        (hot_before - hot_after) * period.total_seconds() / 60.0,
        hot_before,
        hot_after,
    )
    return MigrationPlan(tuple(kept), tuple(deferred), released, efficacy, tuple(after))


def _batches(moves: Sequence[Move]) -> list[list[Move]]:
    """Moves that stand or fall together: each hot move alone, a drain's moves as one."""
    out: list[list[Move]] = []
    for m in moves:
        if (
            m.reason == "consolidate"
            and out
            and out[-1][0].reason == "consolidate"
            and (out[-1][0].source == m.source)
        ):
            out[-1].append(m)
        else:
            out.append([m])
    return out
