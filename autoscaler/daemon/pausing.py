"""Pausing a group: decisions go on being made and recorded, none is acted on.

A mixin of ``Daemon`` (``autoscaler.daemon.service``). The pause is written to the state
database first, then applied to the group's engine binding under the group's lock, so
a tick in progress finishes with the old setting and a restart finds the pause again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from autoscaler.daemon.groups import GroupRuntime
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.metrics import DaemonMetrics
from autoscaler.daemon.state import SqliteStateStore
from autoscaler.interfaces import Clock


class GroupPausing:
    """``pause`` / ``resume`` (the API's and the CLI's), and ``apply_pause``."""

    groups: dict[str, GroupRuntime]
    store: SqliteStateStore
    metrics: DaemonMetrics
    log: LogSink
    clock: Clock

    def group_view(self, name: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def pause(self, name: str, reason: str) -> dict[str, Any] | None:
        """Stop acting for ``name`` (decisions are still made and recorded), durably.
        Returns the group's view, or None when there is no such group."""
        if name not in self.groups:
            return None
        self.store.set_paused(name, self.clock.now(), reason)
        self.apply_pause(self.groups[name], True)
        self.log.event("warning", "group paused", group=name, reason=reason)
        return self.group_view(name)

    def resume(self, name: str) -> dict[str, Any] | None:
        if name not in self.groups:
            return None
        self.store.clear_paused(name)
        self.apply_pause(self.groups[name], False)
        self.log.event("info", "group resumed", group=name)
        return self.group_view(name)

    def apply_pause(self, rt: GroupRuntime, paused: bool) -> None:
        # Under the group's lock: a tick in progress finishes with the old setting.
        with rt.lock:
            self._set_paused_locked(rt, paused)

    def follow_pause(self, rt: GroupRuntime, paused: bool) -> None:
        """Under the group's lock (a tick about to start): take on a pause or resume
        another fleet member's API recorded in the shared database."""
        if rt.binding.spec.paused != paused:
            self._set_paused_locked(rt, paused)
            self.log.event(
                "warning" if paused else "info",
                "group paused (shared state)" if paused else "group resumed (shared state)",
                group=rt.name,
            )

    def _set_paused_locked(self, rt: GroupRuntime, paused: bool) -> None:
        b = rt.binding
        rt.engine.groups[0] = replace(b, spec=replace(b.spec, paused=paused))
        self.metrics.set_paused(rt.name, paused)
