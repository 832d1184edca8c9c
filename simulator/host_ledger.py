"""The simulated cloud's compute hosts: what each holds, and where a new instance may go.

Allocation follows Nova: a host takes an instance while the flavor fits its (overcommitted)
vCPU and RAM limits and its GPUs; an instance is claimed on a host when it is scheduled
(booting instances hold their resources) and released when it is deleted or its boot fails.
"""

from __future__ import annotations

from collections.abc import Sequence

from autoscaler.model import Placement
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest


class HostLedger:
    """Every host's allocation, kept as ``HostView`` values (members in claim order).

    Raises ``ValueError`` for an empty host list or duplicate host names.
    """

    def __init__(self, hosts: Sequence[Host]) -> None:
        if not hosts:
            raise ValueError("a host ledger needs at least one host")
        self._views: dict[str, HostView] = {}
        for h in hosts:
            if h.name in self._views:
                raise ValueError(f"duplicate host name {h.name!r}")
            self._views[h.name] = HostView(h)
        self._claims: dict[str, tuple[str, VmRequest]] = {}  # instance id -> (host, request)
        self.used = 0  # hosts holding at least one instance

    def schedule(self, flavor: Flavor, placement: Placement | None = None) -> str | None:
        """The host for a new instance of ``flavor``, or None when there is none (Nova's
        NoValidHost). A requested host is taken only if it exists, lies in the requested
        zone (if any) and the flavor fits there; a requested zone limits the choice to
        its hosts. Otherwise the host with the most free RAM, then free vCPUs, then the
        first name wins: Nova's default weighers, which spread instances."""
        if placement is not None and placement.host is not None:
            view = self._views.get(placement.host)
            if view is None or not view.fits(flavor):
                return None
            if placement.zone is not None and view.host.zone != placement.zone:
                return None
            return placement.host
        zone = placement.zone if placement is not None else None
        best: HostView | None = None
        best_key: tuple[float, float, str] | None = None
        for view in self._views.values():
            if zone is not None and view.host.zone != zone:
                continue
            if not view.fits(flavor):
                continue
            h = view.host
            key = (
                -(h.ram_mb * h.ram_allocation_ratio - view.ram_used),
                -(h.vcpus * h.cpu_allocation_ratio - view.vcpus_used),
                h.name,
            )
            if best_key is None or key < best_key:
                best, best_key = view, key
        return best.host.name if best is not None else None

    def claim(self, host: str, instance_id: str, group: str, flavor: Flavor) -> None:
        """Put an instance on ``host``; the caller has checked that it fits (``schedule``)."""
        view = self._views[host]
        request = VmRequest(instance_id, flavor, group)
        if not view.vms:
            self.used += 1
        self._views[host] = view.with_vm(request)
        self._claims[instance_id] = (host, request)

    def release(self, instance_id: str) -> None:
        """Free what an instance held; unknown ids (never placed) are ignored."""
        claim = self._claims.pop(instance_id, None)
        if claim is None:
            return
        host, request = claim
        view = self._views[host].without_vm(request)
        self._views[host] = view
        if not view.vms:
            self.used -= 1

    def zone(self, host: str) -> str:
        return self._views[host].host.zone

    def views(self) -> list[HostView]:
        """Every host with its allocation and members, in the order the hosts were given."""
        return list(self._views.values())
