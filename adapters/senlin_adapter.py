"""``SenlinAdapter``: a scaling group is a Senlin cluster — for clouds still running Senlin.

Senlin was retired upstream in 2024; this adapter is kept for the clouds that still
run it. Scaling is a cluster action: ``resize`` with ``EXACT_CAPACITY`` (absolute, the
default) or ``CHANGE_IN_CAPACITY`` (relative), or ``del_nodes`` when the engine chose
victims. The adapter waits for the action to finish and reports its failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.openstack_calls import CONFLICT_RETRY_AFTER, call, check
from autoscaler.model import (
    CloudError,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    ScaleAction,
    ensure_utc,
)

MICROVERSION = "1.10"  # any Senlin since Queens speaks it; resize and del_nodes predate it
SETTLED = frozenset({"ACTIVE", "WARNING", "ERROR", "CRITICAL"})


@dataclass(frozen=True)
class SenlinGroup:
    cluster: str  # name or ID
    adjustment: Literal["exact", "change"] = "exact"


class SenlinAdapter:
    """``CloudAdapter`` over Senlin; ``groups`` maps each group's name to its cluster."""

    def __init__(
        self,
        conn: Any,
        groups: Mapping[str, SenlinGroup],
        *,
        action_timeout: timedelta = timedelta(minutes=15),
        poll_interval: timedelta = timedelta(seconds=5),
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self.groups = dict(groups)
        self.action_timeout = action_timeout
        self.poll_interval = poll_interval
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._monotonic = monotonic
        exact = any(g.adjustment == "exact" for g in self.groups.values())
        self.capabilities = frozenset({"victims"} | ({"absolute_count"} if exact else {"relative"}))

    def _group(self, name: str) -> SenlinGroup:
        try:
            return self.groups[name]
        except KeyError:
            raise CloudError(f"group {name}: not a Senlin group in this config") from None

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        def once() -> Any:
            resp = self._conn.clustering.request(
                path, method, microversion=MICROVERSION, raise_exc=False, **kwargs
            )
            return check(resp)

        return call(once, what, self.backoff)

    def _cluster(self, g: SenlinGroup) -> dict[str, Any]:
        body = self._request("GET", f"/clusters/{quote(g.cluster)}", f"read cluster {g.cluster}")
        return dict(body.json()["cluster"])

    def _nodes(self, cluster: dict[str, Any]) -> list[dict[str, Any]]:
        body = self._request(
            "GET",
            "/nodes",
            f"list nodes of {cluster['name']}",
            params={"cluster_id": cluster["id"]},
        )
        return list(body.json().get("nodes", []))

    def status(self, group: GroupSpec) -> GroupStatus:
        cluster = self._cluster(self._group(group.name))
        states = [n.get("status") for n in self._nodes(cluster)]
        return GroupStatus(
            ready=states.count("ACTIVE"),
            booting=sum(1 for s in states if s in ("INIT", "CREATING")),
            failed=sum(1 for s in states if s in ("ERROR", "WARNING")),
            in_flight=cluster.get("status") not in SETTLED,
        )

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        cluster = self._cluster(self._group(group.name))
        return [
            InstanceInfo(
                id=str(n["id"]),
                created_at=ensure_utc(
                    datetime.fromisoformat(n["created_at"].replace("Z", "+00:00"))
                ),
                ready=n.get("status") == "ACTIVE",
            )
            for n in self._nodes(cluster)
            if n.get("created_at")
        ]

    def scale(self, action: ScaleAction) -> None:
        """Resize (or delete the chosen nodes) and wait for Senlin's action to finish.

        Raises ``CloudError`` when the cluster is busy (with ``retry_after``), the action
        fails, or it does not finish within ``action_timeout``.
        """
        g = self._group(action.group)
        cluster = self._cluster(g)
        if cluster.get("status") not in SETTLED:
            raise CloudError(
                f"cluster {g.cluster} is {cluster.get('status')}; not changing it until it settles",
                retry_after=CONFLICT_RETRY_AFTER,
            )
        desired = int(cluster.get("desired_capacity", -1))
        if action.delta < 0 and action.victims:
            members = set(cluster.get("nodes") or [])
            victims = [v for v in action.victims if v in members][: -action.delta]
            if not victims:
                return  # already deleted: this is a replay
            body: dict[str, Any] = {"del_nodes": {"nodes": victims, "destroy_after_deletion": True}}
        elif g.adjustment == "exact":
            if desired == action.target:
                return
            body = {"resize": {"adjustment_type": "EXACT_CAPACITY", "number": action.target,
                               "strict": True}}  # fmt: skip
        else:
            if desired != action.current or action.delta == 0:
                return  # the size moved on from where the action started: already applied
            body = {"resize": {"adjustment_type": "CHANGE_IN_CAPACITY", "number": action.delta,
                               "strict": True}}  # fmt: skip
        resp = self._request(
            "POST", f"/clusters/{cluster['id']}/actions", f"resize cluster {g.cluster}", json=body
        )
        action_id = (resp.json() or {}).get("action") or resp.headers.get("Location", "").rsplit(
            "/", 1
        )[-1]
        if not action_id:
            raise CloudError(f"cluster {g.cluster}: Senlin accepted the resize but named no action")
        self._wait(g, str(action_id))

    def _wait(self, g: SenlinGroup, action_id: str) -> None:
        deadline = self._monotonic() + self.action_timeout.total_seconds()
        while True:
            body = self._request("GET", f"/actions/{action_id}", f"poll action {action_id}")
            act = body.json()["action"]
            if act["status"] == "SUCCEEDED":
                return
            if act["status"] in ("FAILED", "CANCELLED"):
                raise CloudError(
                    f"cluster {g.cluster}: action {act.get('action', action_id)} {act['status']}: "
                    f"{act.get('status_reason') or 'no reason given'}"
                )
            if self._monotonic() >= deadline:
                raise CloudError(
                    f"cluster {g.cluster}: action {action_id} still {act['status']} after "
                    f"{self.action_timeout}"
                )
            self._sleep(self.poll_interval.total_seconds())
