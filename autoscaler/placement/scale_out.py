"""Where a group's new instances go: a placement policy's plan as ``Placement`` values."""

from __future__ import annotations

from collections.abc import Sequence

from autoscaler.model import Placement
from autoscaler.placement.hosts import Flavor, HostView, VmRequest
from autoscaler.placement.policies import Demand, PlacementPolicy, place


def plan_scale_out(
    policy: PlacementPolicy,
    group: str,
    flavor: Flavor,
    n: int,
    hosts: Sequence[HostView],
    demand: Demand | None = None,
) -> tuple[Placement, ...]:
    """One ``Placement(host, zone)`` per new instance, chosen one after another (each
    sees the hosts as the previous left them), every instance predicted at ``demand``.
    An instance that fits nowhere gets ``Placement()``: the cloud decides, and finds no
    host either, so it fails to boot there as it would here."""
    d = demand or Demand()
    requests = [VmRequest(f"{group}-new-{k + 1}", flavor, group) for k in range(n)]
    plan = place(policy, requests, hosts, [d] * n)
    chosen = dict(plan.assignments)
    zones = {h.host.name: h.host.zone for h in hosts}
    return tuple(
        Placement(chosen[r.id], zones[chosen[r.id]]) if r.id in chosen else Placement()
        for r in requests
    )
