"""The fake Nova's scheduler: Nova's filters and weighers over Placement's candidates.

Placement says which compute nodes can take a flavor (``GET /allocation_candidates``);
this narrows them as Nova's filter scheduler does (a requested host, an availability
zone, ``different_host``/``same_host`` hints, the server group's hard policies with
``max_server_per_host``), then weighs them (soft (anti-)affinity first, then the most
free RAM, Nova's default spreading weigher). Pure: the caller claims the winner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    """What a boot or a live migration asks of the scheduler."""

    host: str | None = (
        None  # a requested host (2.74 host/hypervisor_hostname, forced, or migration)
    )
    zone: str | None = None
    different_host: tuple[str, ...] = ()  # server ids
    same_host: tuple[str, ...] = ()
    group_policy: str | None = None
    group_members: tuple[str, ...] = ()  # server ids already in the server group
    max_server_per_host: int = 1


def schedule(
    request: Request,
    candidates: Mapping[str, Mapping[str, Any]],
    hosts: Mapping[str, Mapping[str, Any]],
    host_of: Mapping[str, str | None],
) -> str | None:
    """The host to use, or None (NoValidHost). ``candidates``: provider uuid -> summary;
    ``hosts``: host name -> {"uuid", "zone"}; ``host_of``: server id -> its host."""
    by_uuid = {h["uuid"]: name for name, h in hosts.items()}
    names = [by_uuid[rp] for rp in candidates if rp in by_uuid]
    members = [host_of.get(s) for s in request.group_members]
    names = [n for n in names if _passes(n, request, hosts, host_of, members)]
    if not names:
        return None

    def weight(name: str) -> tuple[float, float, str]:
        together = members.count(name)
        soft = {"soft-affinity": -together, "soft-anti-affinity": together}
        free_ram = _free(candidates[hosts[name]["uuid"]], "MEMORY_MB")
        return (soft.get(request.group_policy or "", 0), -free_ram, name)

    return min(names, key=weight)


def _passes(
    name: str,
    r: Request,
    hosts: Mapping[str, Mapping[str, Any]],
    host_of: Mapping[str, str | None],
    members: Sequence[str | None],
) -> bool:
    if r.host is not None and name != r.host:
        return False
    if r.zone is not None and hosts[name]["zone"] != r.zone:
        return False
    if any(host_of.get(s) == name for s in r.different_host):
        return False
    if r.same_host and not any(host_of.get(s) == name for s in r.same_host):
        return False
    placed = [m for m in members if m is not None]
    if r.group_policy == "affinity" and placed and name not in placed:
        return False
    return not (r.group_policy == "anti-affinity" and placed.count(name) >= r.max_server_per_host)


def _free(summary: Mapping[str, Any], resource: str) -> float:
    s = summary.get("resources", {}).get(resource, {})
    return float(s.get("capacity", 0)) - float(s.get("used", 0))
