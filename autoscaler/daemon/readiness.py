"""What the daemon's API shows: readiness (with its reasons), notices, group views.

A mixin of ``Daemon`` (``autoscaler.daemon.service``). Readiness is false while the
daemon starts, for a group whose metric source, cloud or state database failed
``not_ready_after`` ticks in a row or that finished no tick for far longer than its
interval (a call that hangs); at once when the state database file was deleted or
replaced under it; in a fleet, when coordination says so. A notice
(a rejected reload) is shown without making the daemon not ready: what runs is the
previous, valid configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autoscaler.daemon.clock import real_seconds
from autoscaler.daemon.groups import GroupRuntime
from autoscaler.daemon.state import SqliteStateStore
from autoscaler.daemon.views import group_view
from autoscaler.interfaces import Clock

if TYPE_CHECKING:
    from autoscaler.daemon.fleet import FleetMember
    from autoscaler.daemon.service import Settings


class DaemonViews:
    """``readiness``, ``notices`` and the group views of the ``DaemonView`` protocol."""

    groups: dict[str, GroupRuntime]
    store: SqliteStateStore
    clock: Clock
    settings: Settings
    fleet: FleetMember | None
    started: bool
    reload_notice: str | None
    _monotonic: Callable[[], float]

    def readiness(self) -> tuple[bool, list[str]]:
        """(ready, why not): one line per reason, redacted."""
        reasons = []
        if not self.started:
            reasons.append("starting")
        n = self.settings.not_ready_after
        # A snapshot: scrapes call this from the HTTP thread while a reload may edit it.
        for name, rt in list(self.groups.items()):
            if rt.source.consecutive_failures >= n:
                reasons.append(
                    f"{name}: metric source failed {rt.source.consecutive_failures} times "
                    f"in a row: {rt.source.last_error}"
                )
            if rt.cloud.consecutive_failures >= n:
                reasons.append(
                    f"{name}: cloud failed {rt.cloud.consecutive_failures} times in a row: "
                    f"{rt.cloud.last_error}"
                )
            if rt.state_failures >= n:
                reasons.append(f"{name}: state database failed {rt.state_failures} times in a row")
        reasons += [
            f"{name}: no tick finished for {secs:.0f}s (a call may hang)"
            for name, secs in self.stalled_groups()
        ]
        lost = self.store.identity_problem()
        if lost is not None:
            reasons.append(lost)
        if self.fleet is not None:
            reasons += self.fleet.not_ready_reasons()
        ok = not reasons
        return ok, [self.store.redactor.text(r) for r in reasons]

    def stalled_groups(self) -> list[tuple[str, float]]:
        """(group, seconds since its last tick finished) for each group that finished no
        tick for far longer than its interval: a job wedged inside a call."""
        now = self._monotonic()
        timeout = self.settings.source_timeout
        slack = timeout.total_seconds() if timeout else 0.0
        stalled = []
        for name, rt in list(self.groups.items()):
            interval = real_seconds(rt.config.interval, self.settings.speedup)
            if now - rt.last_progress > max(5 * interval, 60.0) + slack:
                stalled.append((name, now - rt.last_progress))
        return stalled

    def notices(self) -> list[str]:
        """What /readyz reports without being not-ready (a rejected reload)."""
        notices = [self.reload_notice] if self.reload_notice else []
        return [self.store.redactor.text(n) for n in notices]

    def groups_view(self) -> list[dict[str, Any]]:
        paused = self.store.paused()
        now = self.clock.now()
        return [
            group_view(rt, self.store, now, paused.get(n)) for n, rt in list(self.groups.items())
        ]

    def group_view(self, name: str) -> dict[str, Any] | None:
        rt = self.groups.get(name)
        if rt is None:
            return None
        return group_view(rt, self.store, self.clock.now(), self.store.paused().get(name))

    def decisions(self, name: str, last: int) -> list[dict[str, Any]] | None:
        if name not in self.groups:
            return None
        return self.store.decisions(name, last)

    def plan(self, name: str) -> dict[str, Any] | None:
        """The group's latest rebalance plan ({} when it has none); None: no such group."""
        return None if name not in self.groups else (self.store.last_plan(name) or {})
