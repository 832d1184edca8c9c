"""Every compute host of a Nova cloud, and who holds what on it, from the Placement API.

A compute node is a resource provider with VCPU inventory (nested and sharing providers
without VCPU are skipped). For each one this reads, through openstacksdk's placement
proxy, its inventories (VCPU, MEMORY_MB, PGPU/VGPU: total less reserved, and the
allocation ratios), its usages (what every consumer holds, ours or not) and its
allocations by consumer (which servers sit there); Nova's availability-zone detail
names each host's zone. The provider's name is the compute node's hypervisor hostname,
which is what server create (``hypervisor_hostname``, microversion 2.74) and live
migration (``host``) are given: this assumes the hypervisor hostname equals the compute
service's host, as it does where compute hosts have short host names.

All of these reads need the admin role under Placement's and Nova's default policies
(``ADMIN_READS``); a project without it gets HTTP 403, which ``check_access`` turns into
``PlacementAccessDenied`` so that start-up can refuse the config, not degrade silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.openstack_calls import call
from autoscaler.model import CloudError
from autoscaler.placement.hosts import Host, HostView

# What host views read, each admin-only by default (placement:resource_providers:list,
# ...:inventories:list, ...:usages, ...:allocations:list; os-availability-zone:detail).
ADMIN_READS = (
    "GET /resource_providers",
    "GET /resource_providers/{uuid}/inventories",
    "GET /resource_providers/{uuid}/usages",
    "GET /resource_providers/{uuid}/allocations",
    "GET /os-availability-zone/detail (Nova)",
)
GPU_CLASSES = ("PGPU", "VGPU")


class PlacementAccessDenied(CloudError):
    """The credentials cannot read Placement (or Nova's host details): no admin role."""


def check_access(conn: Any, backoff: Backoff) -> None:
    """Raise ``PlacementAccessDenied`` when the first admin-only read is refused (HTTP
    403), or ``CloudError`` when Placement cannot be used for another reason."""
    try:
        call(lambda: list(conn.placement.resource_providers()), "list resource providers", backoff)
        call(lambda: list(conn.compute.availability_zones(details=True)), "list zones", backoff)
    except PlacementAccessDenied:
        raise
    except CloudError as exc:
        if "HTTP 403" in str(exc):
            raise PlacementAccessDenied(str(exc)) from None
        raise


def read_host_views(
    conn: Any, backoff: Backoff, groups_of: Mapping[str, str], default_zone: str = "nova"
) -> list[HostView]:
    """Every compute node as a ``HostView``, sorted by name. ``groups_of`` maps the
    servers we manage to their group; other consumers count in the usage and appear as
    members of group ``""``. Raises ``CloudError`` (``PlacementAccessDenied`` on 403)."""
    place = conn.placement
    try:
        providers = call(
            lambda: list(place.resource_providers()), "list resource providers", backoff
        )
        zones = _zones(conn, backoff)
    except CloudError as exc:
        if "HTTP 403" in str(exc):
            raise PlacementAccessDenied(str(exc)) from None
        raise
    views = []
    for rp in providers:
        inventories = {
            inv.resource_class: inv
            for inv in call(
                lambda rp=rp: list(place.resource_provider_inventories(rp)),
                f"inventories of {rp.name}",
                backoff,
            )
        }
        if "VCPU" not in inventories:
            continue
        usages = call(
            lambda rp=rp: place.fetch_resource_provider_usages(rp).usages or {},
            f"usages of {rp.name}",
            backoff,
        )
        consumers = sorted(
            a.consumer_id
            for a in call(
                lambda rp=rp: list(place.resource_provider_allocations(rp)),
                f"allocations on {rp.name}",
                backoff,
            )
        )
        views.append(_view(rp.name, zones.get(rp.name, default_zone), inventories, usages,
                           consumers, groups_of))  # fmt: skip
    return sorted(views, key=lambda v: v.host.name)


def _usable(inv: Any) -> int:
    return max(0, int(inv.total or 0) - int(inv.reserved or 0))


def _view(
    name: str,
    zone: str,
    inventories: Mapping[str, Any],
    usages: Mapping[str, int],
    consumers: list[str],
    groups_of: Mapping[str, str],
) -> HostView:
    cpu, ram = inventories["VCPU"], inventories.get("MEMORY_MB")
    host = Host(
        name,
        zone,
        _usable(cpu),
        _usable(ram) if ram is not None else 0,
        sum(_usable(inventories[c]) for c in GPU_CLASSES if c in inventories),
        float(cpu.allocation_ratio or 1.0),
        float(ram.allocation_ratio or 1.0) if ram is not None else 1.0,
    )
    return HostView(
        host,
        int(usages.get("VCPU", 0)),
        int(usages.get("MEMORY_MB", 0)),
        sum(int(usages.get(c, 0)) for c in GPU_CLASSES),
        tuple(consumers),
        tuple(groups_of.get(c, "") for c in consumers),
    )


def _zones(conn: Any, backoff: Backoff) -> dict[str, str]:
    """Host name -> availability zone, from Nova's (admin-only) zone detail."""
    out: dict[str, str] = {}
    for az in call(
        lambda: list(conn.compute.availability_zones(details=True)), "list zones", backoff
    ):
        for host in az.hosts or {}:
            out[host] = az.name
    return out
