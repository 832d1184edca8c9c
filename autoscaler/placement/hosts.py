"""Value types for placement: hosts, flavors, VM requests, and a host's current load."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Flavor:
    """What one VM asks for."""

    name: str
    vcpus: int = 1
    ram_mb: int = 2048
    gpus: int = 0


@dataclass(frozen=True, slots=True)
class Host:
    """A compute host. Allocation may overcommit CPU and RAM by the given ratios (as Nova's
    ``cpu_allocation_ratio``); GPUs are never overcommitted."""

    name: str
    zone: str = "az1"
    vcpus: int = 8
    ram_mb: int = 32768
    gpus: int = 0
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class VmRequest:
    id: str
    flavor: Flavor
    group: str = ""


@dataclass(frozen=True, slots=True)
class HostView:
    """A host with what is on it: allocations, members, and the predicted CPU demand in
    vCPUs (None when the placement has no history to predict from)."""

    host: Host
    vcpus_used: int = 0
    ram_used: int = 0
    gpus_used: int = 0
    vms: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # the group of each member, same order as ``vms``
    predicted_mean: float = 0.0
    predicted_var: float = 0.0

    def fits(self, flavor: Flavor) -> bool:
        """Whether ``flavor`` fits within the host's (overcommitted) allocation limits."""
        h = self.host
        return (
            self.vcpus_used + flavor.vcpus <= h.vcpus * h.cpu_allocation_ratio + 1e-9
            and self.ram_used + flavor.ram_mb <= h.ram_mb * h.ram_allocation_ratio + 1e-9
            and self.gpus_used + flavor.gpus <= h.gpus
        )

    def with_vm(self, vm: VmRequest, mean: float = 0.0, var: float = 0.0) -> HostView:
        return HostView(
            self.host,
            self.vcpus_used + vm.flavor.vcpus,
            self.ram_used + vm.flavor.ram_mb,
            self.gpus_used + vm.flavor.gpus,
            (*self.vms, vm.id),
            (*self.groups, vm.group),
            self.predicted_mean + mean,
            self.predicted_var + var,
        )

    def without_vm(self, vm: VmRequest, mean: float = 0.0, var: float = 0.0) -> HostView:
        i = self.vms.index(vm.id)
        return HostView(
            self.host,
            self.vcpus_used - vm.flavor.vcpus,
            self.ram_used - vm.flavor.ram_mb,
            self.gpus_used - vm.flavor.gpus,
            self.vms[:i] + self.vms[i + 1 :],
            self.groups[:i] + self.groups[i + 1 :],
            max(self.predicted_mean - mean, 0.0),
            max(self.predicted_var - var, 0.0),
        )
