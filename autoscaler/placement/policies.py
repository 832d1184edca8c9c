"""Placement policies: which host a new VM goes to. Pure: views in, a choice out.

Every policy only ever chooses among hosts where the VM fits the allocation limits
(vCPU and RAM with their overcommit ratios, GPUs exactly), so no plan exceeds a host's
capacity; a VM that fits nowhere is left unplaced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from autoscaler.interfaces import PlacementPolicy
from autoscaler.placement.hosts import HostView, VmRequest


@dataclass(frozen=True, slots=True)
class Demand:
    """A VM's predicted CPU demand in vCPUs over the coming period: mean and variance."""

    mean: float = 0.0
    var: float = 0.0


@dataclass(frozen=True, slots=True)
class PlacementPlan:
    """Where each VM went, which could not be placed, and the hosts afterwards."""

    assignments: tuple[tuple[str, str], ...]
    unplaced: tuple[str, ...]
    hosts: tuple[HostView, ...]


def place(
    policy: PlacementPolicy,
    requests: Sequence[VmRequest],
    hosts: Sequence[HostView],
    demands: Sequence[Demand] | None = None,
) -> PlacementPlan:
    """Place ``requests`` one after another (each sees the hosts as the previous left them)."""
    views = list(hosts)
    assigned: list[tuple[str, str]] = []
    unplaced: list[str] = []
    for i, vm in enumerate(requests):
        d = demands[i] if demands is not None else Demand()
        k = policy.choose_host(vm, views, d)
        if k is None:
            unplaced.append(vm.id)
            continue
        views[k] = views[k].with_vm(vm, d.mean, d.var)
        assigned.append((vm.id, views[k].host.name))
    return PlacementPlan(tuple(assigned), tuple(unplaced), tuple(views))


@dataclass(frozen=True)
class SpreadPlacement:
    """Anti-affinity: the zone with the fewest members of the VM's group, then the host
    there with the fewest members of the group, then the fewest VMs at all, then name."""

    name: str = "spread"

    def choose_host(self, vm: VmRequest, hosts: Sequence[HostView], demand: Demand) -> int | None:
        per_zone: dict[str, int] = {}
        for h in hosts:
            per_zone[h.host.zone] = per_zone.get(h.host.zone, 0) + h.groups.count(vm.group)
        fitting = [i for i, h in enumerate(hosts) if h.fits(vm.flavor)]
        if not fitting:
            return None
        return min(
            fitting,
            key=lambda i: (
                per_zone[hosts[i].host.zone],
                hosts[i].groups.count(vm.group),
                len(hosts[i].vms),
                hosts[i].host.name,
            ),
        )


@dataclass(frozen=True)
class PackPlacement:
    """Best fit: the host left with the least free vCPU allocation (then RAM), so the
    fewest hosts are used. Empty hosts are opened only when no used one fits."""

    name: str = "pack"

    def choose_host(self, vm: VmRequest, hosts: Sequence[HostView], demand: Demand) -> int | None:
        fitting = [i for i, h in enumerate(hosts) if h.fits(vm.flavor)]
        if not fitting:
            return None

        def left(i: int) -> tuple[float, float, str]:
            h = hosts[i]
            cpu = h.host.vcpus * h.host.cpu_allocation_ratio - h.vcpus_used - vm.flavor.vcpus
            ram = h.host.ram_mb * h.host.ram_allocation_ratio - h.ram_used - vm.flavor.ram_mb
            return (cpu, ram, h.host.name)

        return min(fitting, key=left)


@dataclass(frozen=True)
class InterferenceAwarePlacement:
    """Colocation by predicted use, below a contention threshold.

    A host's demand is predicted from its VMs' own histories as a sum of independent
    loads: mean ``sum(mu_i)``, variance ``sum(var_i)``; its ``quantile`` is
    ``mean + z * sqrt(var)``. Among the hosts where the VM fits the allocation limits
    and that quantile (with the VM added) stays at or below ``threshold`` of the host's
    vCPUs, the fullest by prediction is chosen (packing by real use rather than by
    allocation). With no such host, an empty host; failing that, the host with the
    lowest predicted demand where it fits (the least bad cliff).
    """

    threshold: float = 0.8
    quantile: float = 0.95
    name: str = "interference_aware"

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(self.quantile)

    def predicted(self, h: HostView, extra: Demand | None = None) -> float:
        """Predicted ``quantile`` of the host's CPU demand as a fraction of its vCPUs."""
        mean = h.predicted_mean + (extra.mean if extra else 0.0)
        var = h.predicted_var + (extra.var if extra else 0.0)
        return (mean + self.z * math.sqrt(max(var, 0.0))) / h.host.vcpus

    def choose_host(self, vm: VmRequest, hosts: Sequence[HostView], demand: Demand) -> int | None:
        fitting = [i for i, h in enumerate(hosts) if h.fits(vm.flavor)]
        if not fitting:
            return None
        scored = [(self.predicted(hosts[i], demand), i) for i in fitting]
        used = [(p, i) for p, i in scored if hosts[i].vms and p <= self.threshold]
        if used:
            return max(used, key=lambda pi: (pi[0], -pi[1]))[1]
        empty = [i for i in fitting if not hosts[i].vms]
        if empty:
            return empty[0]
        return min(scored)[1]


PLACEMENT_POLICIES = ("spread", "pack", "interference_aware")


def build_placement(name: str, threshold: float = 0.8, quantile: float = 0.95) -> PlacementPolicy:
    """A placement policy by name. Raises ``ValueError`` for an unknown one."""
    if name == "spread":
        return SpreadPlacement()
    if name == "pack":
        return PackPlacement()
    if name == "interference_aware":
        return InterferenceAwarePlacement(threshold, quantile)
    raise ValueError(f"unknown placement policy {name!r} (known: {', '.join(PLACEMENT_POLICIES)})")
