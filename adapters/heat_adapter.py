"""``HeatAdapter``: a scaling group is an ``OS::Heat::AutoScalingGroup`` inside a Heat stack.

Two ways to change it:

* ``update`` (absolute): a stack update (PATCH, existing template) that sets the
  template parameter feeding the group's ``desired_capacity``. Replaying it is harmless.
* ``signal`` (relative): signal the stack's ``OS::Heat::ScalingPolicy`` for up or down;
  one signal moves the group by the policy's ``scaling_adjustment``. A replay is
  recognised because the group's size no longer equals the size the action started from.

While the stack is ``*_IN_PROGRESS`` the group is reported ``in_flight`` and no new
change is sent. Calls go through the openstacksdk ``orchestration`` proxy (a keystoneauth
adapter), so the catalog, tokens and re-authentication are openstacksdk's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeatGroup:
    """Where a group lives in Heat: the stack, the ASG resource, and how to change it."""

    stack: str
    resource: str = "asg"
    mode: Literal["update", "signal"] = "update"
    capacity_parameter: str = "desired_capacity"
    scale_up_policy: str = "scale_up"
    scale_down_policy: str = "scale_down"


class HeatAdapter:
    """``CloudAdapter`` over Heat. ``conn`` is an openstacksdk ``Connection``; ``groups``
    maps each group's name to its ``HeatGroup``."""

    def __init__(
        self, conn: Any, groups: Mapping[str, HeatGroup], *, backoff: Backoff | None = None
    ) -> None:
        self._conn = conn
        self.groups = dict(groups)
        self.backoff = backoff or Backoff()
        modes = {g.mode for g in self.groups.values()}
        caps = {"absolute_count"} if "update" in modes else set()
        self.capabilities = frozenset(caps | ({"relative"} if "signal" in modes else set()))

    def _group(self, name: str) -> HeatGroup:
        try:
            return self.groups[name]
        except KeyError:
            raise CloudError(f"group {name}: not a Heat group in this config") from None

    def _get(self, path: str, what: str, **params: str) -> dict[str, Any]:
        def get() -> dict[str, Any]:
            resp = self._conn.orchestration.get(path, params=params or None, raise_exc=False)
            return check(resp).json()

        return call(get, what, self.backoff)

    def _stack(self, g: HeatGroup) -> dict[str, Any]:
        # Looking a stack up by name answers with a redirect to /stacks/<name>/<id>.
        body = self._get(f"/stacks/{quote(g.stack)}", f"read stack {g.stack}")
        stack = body.get("stack")
        if not isinstance(stack, dict) or "id" not in stack:
            raise CloudError(f"stack {g.stack}: malformed answer from Heat")
        return stack

    def _current_size(self, g: HeatGroup, stack: dict[str, Any]) -> int:
        path = f"/stacks/{quote(g.stack)}/{stack['id']}/resources/{quote(g.resource)}"
        body = self._get(path, f"read {g.resource} of stack {g.stack}", with_attr="current_size")
        resource = body.get("resource") or {}
        if resource.get("resource_type") not in (None, "OS::Heat::AutoScalingGroup"):
            raise CloudError(
                f"stack {g.stack}: {g.resource} is a {resource.get('resource_type')}, "
                "not an OS::Heat::AutoScalingGroup"
            )
        size = (resource.get("attributes") or {}).get("current_size")
        if not isinstance(size, int):
            raise CloudError(f"stack {g.stack}: {g.resource} reports no current_size")
        return size

    def status(self, group: GroupSpec) -> GroupStatus:
        g = self._group(group.name)
        stack = self._stack(g)
        state = str(stack.get("stack_status", ""))
        if state.endswith("_FAILED"):
            log.warning("stack %s is %s: %s", g.stack, state, stack.get("stack_status_reason"))
        return GroupStatus(
            ready=self._current_size(g, stack), in_flight=state.endswith("_IN_PROGRESS")
        )

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        g = self._group(group.name)
        stack = self._stack(g)
        body = self._get(
            f"/stacks/{quote(g.stack)}/{stack['id']}/resources",
            f"list members of stack {g.stack}",
            nested_depth="1",
        )
        return [
            InstanceInfo(
                id=str(r["physical_resource_id"]),
                created_at=ensure_utc(
                    datetime.fromisoformat(r["creation_time"].replace("Z", "+00:00"))
                ),
                ready=str(r.get("resource_status", "")).endswith("_COMPLETE"),
            )
            for r in body.get("resources", [])
            if r.get("parent_resource") == g.resource
            and r.get("resource_type") == "OS::Nova::Server"
            and r.get("physical_resource_id")
        ]

    def scale(self, action: ScaleAction) -> None:
        """Send the change; Heat carries it out asynchronously (``status`` shows in_flight).

        Raises ``CloudError`` while the stack is busy (with ``retry_after``) or on refusal.
        """
        g = self._group(action.group)
        stack = self._stack(g)
        state = str(stack.get("stack_status", ""))
        if state.endswith("_IN_PROGRESS"):
            raise CloudError(
                f"stack {g.stack} is {state}; not changing it until that finishes",
                retry_after=CONFLICT_RETRY_AFTER,
            )
        base = f"/stacks/{quote(g.stack)}/{stack['id']}"
        if g.mode == "update":
            params = stack.get("parameters") or {}
            if str(params.get(g.capacity_parameter)) == str(action.target):
                log.info("stack %s already has %s=%d", g.stack, g.capacity_parameter, action.target)
                return
            body = {"parameters": {g.capacity_parameter: action.target}}
            call(
                lambda: check(self._conn.orchestration.patch(base, json=body, raise_exc=False)),
                f"update stack {g.stack}",
                self.backoff,
            )
            return
        size = self._current_size(g, stack)
        if size != action.current:
            log.info(
                "stack %s: size is %d, not %d as action %s expected; not signalling again",
                g.stack, size, action.current, action.action_id,
            )  # fmt: skip
            return
        if action.delta == 0:
            return
        policy = g.scale_up_policy if action.delta > 0 else g.scale_down_policy
        call(
            lambda: check(
                self._conn.orchestration.post(
                    f"{base}/resources/{quote(policy)}/signal", json={}, raise_exc=False
                )
            ),
            f"signal {policy} of stack {g.stack}",
            self.backoff,
        )
