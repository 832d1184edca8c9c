"""How a group's placement policy reaches Nova, and live migration of one server.

Two modes (``NovaSettings.placement``):

* ``hosts`` (admin): the engine plans on host views read from Placement and each new
  server is created on its host (``hypervisor_hostname``, microversion 2.74, which still
  runs the scheduler's filters, so a full host fails with NoValidHost); rebalancing
  live-migrates servers.
* ``hints`` (any project): no host can be read or named, so the policy becomes what a
  project may ask Nova's scheduler for, a server group policy (``HINT_POLICIES``);
  nothing is rebalanced (live migration is admin-only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.openstack_calls import call
from autoscaler.model import CloudError

PlacementMode = Literal["hosts", "hints"]
CREATE_ON_HOST_MICROVERSION = "2.74"
RULES_MICROVERSION = "2.64"  # server group ``policy`` + ``rules`` (max_server_per_host)

# Placement policy -> the server group policy it degrades to without host views: spread
# asks Nova to keep members apart, pack to keep them together, both soft (a full cloud
# still boots); interference_aware cannot predict without hosts, so it spreads, which
# bounds how much of one host a group's load can take.
HINT_POLICIES = {
    "spread": "soft-anti-affinity",
    "pack": "soft-affinity",
    "interference_aware": "soft-anti-affinity",
}


@dataclass(frozen=True)
class ServerGroupRequest:
    policy: str
    rules: dict[str, int]


def server_group_for(
    placement: str | None, configured: str | None, max_server_per_host: int | None
) -> ServerGroupRequest | None:
    """The server group a group's servers join: the configured policy wins; else the
    placement policy's (``HINT_POLICIES``); ``max_server_per_host`` makes spread a hard
    anti-affinity allowing that many members a host. None: no server group."""
    if configured is None and placement == "spread" and max_server_per_host:
        return ServerGroupRequest("anti-affinity", {"max_server_per_host": max_server_per_host})
    policy = configured or HINT_POLICIES.get(placement or "")
    if policy is None:
        return None
    rules = (
        {"max_server_per_host": max_server_per_host}
        if policy == "anti-affinity" and max_server_per_host
        else {}
    )
    return ServerGroupRequest(policy, rules)


def require_microversion(compute: Any, version: str, what: str) -> None:
    """Raise ``CloudError`` when the cloud's compute API is older than ``version``."""
    from openstack import utils

    if not utils.supports_microversion(compute, version):
        raise CloudError(f"{what} needs compute API microversion {version}; this cloud is older")


def live_migrate(
    compute: Any,
    server_id: str,
    host: str,
    backoff: Backoff,
    *,
    timeout: timedelta,
    poll: timedelta,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
) -> None:
    """Live-migrate ``server_id`` to ``host`` (the scheduler still checks it) and wait
    until it runs there. Already there: nothing is sent (a replayed plan). Raises
    ``CloudError`` when Nova refuses, the migration fails (the server stays where it
    was) or it has not finished within ``timeout``."""
    server = call(lambda: compute.get_server(server_id), f"show server {server_id}", backoff)
    if server.compute_host == host:
        return
    source = server.compute_host
    call(
        lambda: compute.live_migrate_server(server_id, host=host, block_migration="auto"),
        f"live-migrate {server_id} to {host}",
        backoff,
    )
    deadline = monotonic() + timeout.total_seconds()
    while True:
        server = call(lambda: compute.get_server(server_id), f"poll server {server_id}", backoff)
        if server.status != "MIGRATING" and not server.task_state:
            break
        if monotonic() >= deadline:
            raise CloudError(f"live migration of {server_id} to {host} not done after {timeout}")
        sleep(poll.total_seconds())
    if server.compute_host != host:
        raise CloudError(
            f"live migration of {server_id} to {host} failed: it is still on {server.compute_host}"
            f" (was on {source})"
        )
