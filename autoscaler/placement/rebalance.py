"""Periodic rebalancing of a running placement: relieve hot hosts, drain cold ones.

Pure: host views and each VM's predicted demand in, a plan of live migrations out. A host
is judged as ``InterferenceAwarePlacement`` judges it: the ``quantile`` of the sum of its
VMs' demands as a fraction of its vCPUs. Every move stays within the allocation limits
(``HostView.fits``), so no plan exceeds a host's capacity.

Two steps, in this order:

1. **Relieve hot hosts**: off each host predicted above the contention threshold, the
   most demanding VMs are moved, one at a time, to where the policy would place them
   (an empty host may be opened) until it is at or below it; a lone VM stays, and so
   does a VM for which the policy finds no better host than its own.
2. **Consolidate cold hosts**: the least-loaded hosts are emptied onto other used hosts
   whose prediction, with the VM added, stays at or below ``Consolidation.below``. Only a
   host that can be emptied whole is touched (a half-drained host saves nothing); a host
   that received VMs in this round is never drained in it; at most ``max_moves``
   consolidation moves per round. ``below`` lies under the contention threshold, so a
   host filled by consolidation has that gap before step 1 would move VMs off it again
   (the hysteresis that keeps VMs from ping-ponging between rounds).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from autoscaler.placement.hosts import HostView, VmRequest
from autoscaler.placement.policies import Demand, InterferenceAwarePlacement

MoveReason = Literal["hot", "consolidate"]


@dataclass(frozen=True, slots=True)
class Member:
    """A running VM and its predicted CPU demand (vCPUs) over the coming period."""

    vm: VmRequest
    demand: Demand


@dataclass(frozen=True, slots=True)
class Move:
    """One live migration: ``vm`` from host ``source`` to host ``target``."""

    vm: str
    source: str
    target: str
    reason: MoveReason


@dataclass(frozen=True, slots=True)
class Consolidation:
    """How cold hosts are drained: receivers stay at or below ``below`` (fraction of a
    host's vCPUs, predicted quantile); at most ``max_moves`` migrations per round.
    Raises ``ValueError`` when ``below`` is not in (0, 1] or ``max_moves`` is negative."""

    below: float = 0.7
    max_moves: int = 32

    def __post_init__(self) -> None:
        if not 0 < self.below <= 1:
            raise ValueError(f"consolidation target must be in (0, 1], not {self.below}")
        if self.max_moves < 0:
            raise ValueError(f"max_moves must not be negative, not {self.max_moves}")


@dataclass(frozen=True, slots=True)
class RebalancePlan:
    """The moves in the order to carry them out, the hosts emptied by consolidation, and
    every host as it will be afterwards (same order as given)."""

    moves: tuple[Move, ...]
    drained: tuple[str, ...]
    hosts: tuple[HostView, ...]

    def count(self, reason: MoveReason) -> int:
        return sum(1 for m in self.moves if m.reason == reason)


def rebalance(
    policy: InterferenceAwarePlacement,
    hosts: Sequence[HostView],
    members: Mapping[str, Member],
    consolidation: Consolidation | None = None,
) -> RebalancePlan:
    """Relieve hot hosts, then (when ``consolidation`` is given) drain cold ones; see the
    module docstring. ``hosts`` must carry fresh predictions and ``members`` every VM on
    them. Raises ``ValueError`` when the consolidation target is not below the policy's
    contention threshold (without that gap VMs would move back and forth)."""
    if consolidation is not None and consolidation.below >= policy.threshold:
        raise ValueError(
            f"consolidation target {consolidation.below} must be below the contention "
            f"threshold {policy.threshold}"
        )
    hot = relieve_hot(policy, hosts, members)
    if consolidation is None:
        return hot
    cold = consolidate(
        policy, hot.hosts, members, consolidation, pinned={m.target for m in hot.moves}
    )
    return RebalancePlan(hot.moves + cold.moves, cold.drained, cold.hosts)


def relieve_hot(
    policy: InterferenceAwarePlacement,
    hosts: Sequence[HostView],
    members: Mapping[str, Member],
) -> RebalancePlan:
    """Step 1 of the module docstring: move the most demanding VMs off each host
    predicted above ``policy.threshold`` to where ``policy.choose_host`` puts them."""
    views = list(hosts)
    moves: list[Move] = []
    for k, view in enumerate(hosts):
        for vm_id in sorted(view.vms, key=lambda v: (-members[v].demand.mean, v)):
            if policy.predicted(views[k]) <= policy.threshold or len(views[k].vms) <= 1:
                break
            m = members[vm_id]
            # re-placed at once, so no other VM can take the room it leaves behind
            trial = list(views)
            trial[k] = views[k].without_vm(m.vm, m.demand.mean, m.demand.var)
            j = policy.choose_host(m.vm, trial, m.demand)
            if j is None or j == k:  # no better place than its own: the host stays as is
                break
            trial[j] = trial[j].with_vm(m.vm, m.demand.mean, m.demand.var)
            views = trial
            moves.append(Move(vm_id, views[k].host.name, views[j].host.name, "hot"))
    return RebalancePlan(tuple(moves), (), tuple(views))


def consolidate(
    policy: InterferenceAwarePlacement,
    hosts: Sequence[HostView],
    members: Mapping[str, Member],
    consolidation: Consolidation,
    pinned: Collection[str] = (),
) -> RebalancePlan:
    """Step 2 of the module docstring. Hosts are tried least predicted load first (then
    fewest VMs, then name); hosts named in ``pinned`` are never drained. A host's VMs go
    most demanding first, each to the receiver that ends fullest by prediction."""
    views = list(hosts)
    locked = set(pinned)
    budget = consolidation.max_moves
    moves: list[Move] = []
    drained: list[str] = []
    order = sorted(
        (k for k, v in enumerate(views) if v.vms),
        key=lambda k: (policy.predicted(views[k]), len(views[k].vms), views[k].host.name),
    )
    for k in order:
        source = views[k]
        if source.host.name in locked or not source.vms or len(source.vms) > budget:
            continue
        trial = _drain(policy, views, k, members, consolidation.below)
        if trial is None:
            continue
        new_views, placed = trial
        for vm_id, j in placed:
            moves.append(Move(vm_id, source.host.name, views[j].host.name, "consolidate"))
            locked.add(views[j].host.name)
        views = new_views
        drained.append(source.host.name)
        budget -= len(placed)
    return RebalancePlan(tuple(moves), tuple(drained), tuple(views))


def _drain(
    policy: InterferenceAwarePlacement,
    views: list[HostView],
    k: int,
    members: Mapping[str, Member],
    below: float,
) -> tuple[list[HostView], list[tuple[str, int]]] | None:
    """The views with host ``k`` emptied onto other used hosts kept at or below
    ``below``, and where each VM went; None (nothing changed) when one VM fits nowhere."""
    trial = list(views)
    placed: list[tuple[str, int]] = []
    for vm_id in sorted(views[k].vms, key=lambda v: (-members[v].demand.mean, v)):
        m = members[vm_id]
        best: tuple[float, int] | None = None
        for j, v in enumerate(trial):
            # used hosts only: opening an empty one to drain another saves nothing
            if j == k or not v.vms or not v.fits(m.vm.flavor):
                continue
            p = policy.predicted(v, m.demand)
            if p <= below and (best is None or p > best[0]):
                best = (p, j)
        if best is None:
            return None
        j = best[1]
        trial[j] = trial[j].with_vm(m.vm, m.demand.mean, m.demand.var)
        trial[k] = trial[k].without_vm(m.vm, m.demand.mean, m.demand.var)
        placed.append((vm_id, j))
    return trial, placed
