"""``NovaAdapter``: a scaling group is the set of Nova servers carrying our metadata tag.

Scale out boots servers with deterministic names derived from the action id and waits
for them to become ACTIVE; scale in deletes the chosen victims. A replayed action
(after a crash, a dropped connection or a retry) finds the servers it already created
by name and creates only the missing ones, so it never duplicates. Servers in ERROR
are reported in ``status`` and deleted by the next ``scale``.

Credentials come only from clouds.yaml through the ``openstack.connection.Connection``
passed in; nothing here logs them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.nova_placement import (
    CREATE_ON_HOST_MICROVERSION,
    RULES_MICROVERSION,
    PlacementMode,
    live_migrate,
    require_microversion,
    server_group_for,
)
from autoscaler.adapters.openstack_calls import call
from autoscaler.model import (
    CloudError,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    ScaleAction,
    ensure_utc,
)

log = logging.getLogger(__name__)

ServerGroupPolicy = Literal["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]
GROUP_KEY = "autoscaler-group"
ACTION_KEY = "autoscaler-action"


@dataclass(frozen=True)
class NovaSettings:
    """How to boot a group's servers. ``image`` and ``network`` are IDs; the flavor is
    the group's flavor name (or ID) as Nova knows it."""

    image: str
    network: str | None = None
    key_name: str | None = None
    user_data: str | None = None  # the script itself; base64-encoded on the way out
    server_group_policy: ServerGroupPolicy | None = None
    # How long scale() waits for ACTIVE; zero returns at once and leaves the new servers
    # to status() as booting (so one slow boot never holds up the engine's other groups).
    boot_timeout: timedelta = timedelta(minutes=10)
    poll_interval: timedelta = timedelta(seconds=5)
    # How groups' placement policies reach Nova (see ``nova_placement``); None: not at all.
    placement: PlacementMode | None = None
    max_server_per_host: int | None = None  # spread as hard anti-affinity with this limit


class NovaAdapter:
    """``CloudAdapter`` over Nova. ``conn`` is an openstacksdk ``Connection``; ``flavors``
    maps each group's name to its Nova flavor (name or ID); ``placements`` each group's
    placement policy name, for ``hints`` mode. In ``hosts`` mode it also reports host
    views (from Placement) and live-migrates."""

    def __init__(
        self,
        conn: Any,
        settings: NovaSettings,
        flavors: Mapping[str, str],
        *,
        placements: Mapping[str, str | None] | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self.settings = settings
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._monotonic = monotonic
        self._group_flavor = dict(flavors)
        self._flavors: dict[str, str] = {}
        self._placements = dict(placements or {})
        base = {"absolute_count", "victims", "placement"}
        if settings.placement == "hosts":
            base |= {"host_views", "live_migration"}
        self.capabilities = frozenset(base)

    @property
    def _compute(self) -> Any:
        # Looked up at each use: the first look-up authenticates and discovers versions,
        # which must happen inside the error rules, not in the constructor.
        return self._conn.compute

    # ------------------------------------------------------------------ reading

    def _members(self, group: str) -> list[Any]:
        """The group's servers: named ``<group>-...`` and tagged with the group."""

        def listing() -> list[Any]:
            servers = self._compute.servers(details=True, name="^" + re.escape(_name_prefix(group)))
            return [s for s in servers if (s.metadata or {}).get(GROUP_KEY) == group]

        return call(listing, f"list servers of {group}", self.backoff)

    def status(self, group: GroupSpec) -> GroupStatus:
        states = [s.status for s in self._members(group.name)]
        return GroupStatus(
            ready=states.count("ACTIVE"),
            booting=sum(1 for s in states if s in ("BUILD", "REBUILD", "HARD_REBOOT", "REBOOT")),
            failed=states.count("ERROR"),
        )

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        return [
            InstanceInfo(
                id=s.id,
                created_at=_parse_time(s.created_at),
                host=getattr(s, "compute_host", None) or getattr(s, "hypervisor_hostname", None),
                zone=s.availability_zone,
                ready=s.status == "ACTIVE",
            )
            for s in self._members(group.name)
            if s.status != "ERROR"
        ]

    def server_ids(self, group: str) -> dict[str, str]:
        """The group's servers, name -> id (names are derived from action ids)."""
        return {s.name: s.id for s in self._members(group)}

    def host_views(self) -> list[Any]:
        """Every compute host from Placement, with the servers of all our groups named
        by group. Raises ``CloudError`` (``PlacementAccessDenied`` without admin)."""
        from autoscaler.adapters.placement_hosts import read_host_views

        def listing() -> dict[str, str]:
            servers = self._compute.servers(details=True, name="^as-")
            return {
                s.id: (s.metadata or {})[GROUP_KEY]
                for s in servers
                if (s.metadata or {}).get(GROUP_KEY)
            }

        groups_of = call(listing, "list the groups' servers", self.backoff)
        return read_host_views(self._conn, self.backoff, groups_of)

    def check_placement_access(self) -> None:
        """Raise ``PlacementAccessDenied`` when these credentials cannot read host views."""
        from autoscaler.adapters.placement_hosts import check_access

        check_access(self._conn, self.backoff)

    def live_migrate(self, server_id: str, host: str) -> None:
        """Move one server to ``host`` and wait (``boot_timeout``) until it runs there."""
        live_migrate(
            self._compute,
            server_id,
            host,
            self.backoff,
            timeout=self.settings.boot_timeout,
            poll=self.settings.poll_interval,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )

    # ------------------------------------------------------------------ changing

    def scale(self, action: ScaleAction) -> None:
        """Boot or delete servers to move the group from ``action.current`` to ``action.target``.

        Raises ``CloudError`` when the cloud refuses, a server fails to boot, or it is not
        ACTIVE within ``boot_timeout`` (it stays in the group as booting).
        """
        members = self._members(action.group)
        self._clean_up_errors(action.group, members)
        live = [s for s in members if s.status != "ERROR"]
        if action.delta > 0:
            self._scale_out(action, live)
        elif action.delta < 0:
            self._scale_in(action, live)

    def _clean_up_errors(self, group: str, members: list[Any]) -> None:
        for s in members:
            if s.status == "ERROR":
                fault = (getattr(s, "fault", None) or {}).get("message", "no fault given")
                log.warning("group %s: deleting server %s in ERROR (%s)", group, s.name, fault)
                self._delete(s.id, group)

    def _scale_out(self, action: ScaleAction, live: list[Any]) -> None:
        names = [server_name(action.group, action.action_id, i) for i in range(action.delta)]
        existing = {s.name for s in live}
        room = max(0, action.target - len(live))
        todo = [(i, n) for i, n in enumerate(names) if n not in existing][:room]
        if not todo:
            log.info("group %s: action %s already carried out", action.group, action.action_id)
            return
        flavor = self._flavor_id(action)
        hints = self._scheduler_hints(action.group)
        created = [self._ensure_server(action, i, name, flavor, hints) for i, name in todo]
        if self.settings.boot_timeout > timedelta(0):
            self._wait_active(action, created)

    def _ensure_server(
        self, action: ScaleAction, index: int, name: str, flavor: str, hints: dict[str, str]
    ) -> str:
        """Create server ``name`` unless it exists (looked up before every attempt)."""
        st = self.settings
        attrs: dict[str, Any] = {
            "name": name,
            "flavor_id": flavor,
            "image_id": st.image,
            "metadata": {GROUP_KEY: action.group, ACTION_KEY: action.action_id},
            "networks": [{"uuid": st.network}] if st.network else "auto",
        }
        if st.key_name:
            attrs["key_name"] = st.key_name
        if st.user_data:
            attrs["user_data"] = base64.b64encode(st.user_data.encode()).decode()
        if hints:
            attrs["scheduler_hints"] = hints
        if index < len(action.placements):
            place = action.placements[index]
            if place.host and st.placement == "hosts":
                # 2.74: the scheduler still checks the host (a full one is NoValidHost)
                require_microversion(self._compute, CREATE_ON_HOST_MICROVERSION, "boot on a host")
                attrs["hypervisor_hostname"] = place.host
            elif place.zone:
                attrs["availability_zone"] = (
                    f"{place.zone}:{place.host}" if place.host else place.zone
                )

        def create_once() -> str:
            for s in self._compute.servers(details=True, name=f"^{re.escape(name)}$"):
                if s.name == name and (s.metadata or {}).get(GROUP_KEY) == action.group:
                    return str(s.id)
            return str(self._compute.create_server(**attrs).id)

        return call(create_once, f"create server {name}", self.backoff)

    def _wait_active(self, action: ScaleAction, ids: list[str]) -> None:
        deadline = self._monotonic() + self.settings.boot_timeout.total_seconds()
        pending = set(ids)
        failed: list[str] = []
        while pending:
            for sid in sorted(pending):
                server = call(
                    lambda sid=sid: self._compute.get_server(sid),
                    f"poll server {sid}",
                    self.backoff,
                )
                if server.status == "ACTIVE":
                    pending.discard(sid)
                elif server.status == "ERROR":
                    pending.discard(sid)
                    fault = (getattr(server, "fault", None) or {}).get("message", "").strip()
                    failed.append(f"{server.name} ({fault or 'no fault given'})")
                    self._delete(sid, action.group)
            if not pending:
                break
            if self._monotonic() >= deadline:
                raise CloudError(
                    f"group {action.group}: {len(pending)} server(s) not ACTIVE after "
                    f"{self.settings.boot_timeout}; they stay in the group as booting"
                )
            self._sleep(self.settings.poll_interval.total_seconds())
        if failed:
            raise CloudError(
                f"group {action.group}: {len(failed)} server(s) went to ERROR and were "
                f"deleted: {', '.join(failed)}"
            )

    def _scale_in(self, action: ScaleAction, live: list[Any]) -> None:
        by_id = {s.id: s for s in live}
        count = min(-action.delta, max(0, len(live) - action.target))
        chosen = [v for v in action.victims if v in by_id]
        if len(chosen) < count:
            # No (or too few) victims given: the newest go first, they hold the least state.
            rest = sorted(
                (s for s in live if s.id not in chosen),
                key=lambda s: (s.created_at or "", s.name),
                reverse=True,
            )
            chosen += [s.id for s in rest]
        for sid in chosen[:count]:
            self._delete(sid, action.group)

    def _delete(self, server_id: str, group: str) -> None:
        call(
            lambda: self._compute.delete_server(server_id, ignore_missing=True),
            f"delete server {server_id} of {group}",
            self.backoff,
        )

    # ------------------------------------------------------------------ lookups

    def _flavor_id(self, action: ScaleAction) -> str:
        wanted = self._group_flavor.get(action.group)
        if wanted is None:
            raise CloudError(f"group {action.group}: not a Nova group in this config")
        if not self._flavors:
            flavors = call(
                lambda: list(self._compute.flavors(details=True)), "list flavors", self.backoff
            )
            for f in flavors:
                self._flavors[f.id] = f.id
                self._flavors.setdefault(f.name, f.id)
        if wanted not in self._flavors:
            raise CloudError(f"group {action.group}: Nova has no flavor named {wanted!r}")
        return self._flavors[wanted]

    def _scheduler_hints(self, group: str) -> dict[str, str]:
        st = self.settings
        wanted = server_group_for(
            self._placements.get(group) if st.placement == "hints" else None,
            st.server_group_policy,
            st.max_server_per_host,
        )
        if wanted is None:
            return {}
        policy = wanted.policy
        name = f"{_name_prefix(group)}servers"

        def ensure() -> str:
            for sg in self._compute.server_groups():
                if sg.name == name:
                    if sg.policy and sg.policy != policy:
                        raise CloudError(
                            f"group {group}: server group {name} has policy {sg.policy}, "
                            f"configured {policy}; delete it or change the config"
                        )
                    return str(sg.id)
            if wanted.rules:
                require_microversion(self._compute, RULES_MICROVERSION, "max_server_per_host")
                made = self._compute.create_server_group(
                    name=name, policy=policy, rules=wanted.rules
                )
            else:
                made = self._compute.create_server_group(name=name, policy=policy)
            return str(made.id)

        return {"group": call(ensure, f"server group for {group}", self.backoff)}


def _name_prefix(group: str) -> str:
    return f"as-{group}-"


def server_name(group: str, action_id: str, index: int) -> str:
    """The deterministic name of the ``index``-th server an action creates.

    Readable (the action id, cleaned) and unique (a digest of the exact id)."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", action_id).strip("-")[:40]
    digest = hashlib.sha256(action_id.encode()).hexdigest()[:8]
    return f"{_name_prefix(group)}{readable}-{digest}-{index}"


def _parse_time(value: str | None) -> datetime:
    if not value:
        raise CloudError("server without a creation time")
    return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
