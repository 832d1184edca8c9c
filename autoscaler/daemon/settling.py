"""Settling interrupted actions: at a single daemon's start, and in a fleet per group
once it is taken over and its handoff grace (``autoscaler.daemon.handoff``) is over.

A mixin of ``Daemon`` (``autoscaler.daemon.service``).
"""

from __future__ import annotations

from autoscaler.config import Config
from autoscaler.daemon.groups import GroupRuntime
from autoscaler.daemon.handoff import HandoffHolds
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.reconcile import reconcile
from autoscaler.daemon.shared_state import SharedStateStore
from autoscaler.daemon.state import SqliteStateStore, StateError
from autoscaler.interfaces import Clock, World


class ActionSettling:
    """``reconcile`` (at the start; a fleet's on-acquire hook) and ``_held`` (per tick)."""

    config: Config
    groups: dict[str, GroupRuntime]
    store: SqliteStateStore | SharedStateStore
    world: World
    clock: Clock
    log: LogSink
    handoffs: HandoffHolds

    def reconcile(self, only: list[str] | None = None) -> None:
        """Settle interrupted actions against the cloud before any new decision. In a
        fleet (``only``: the groups just leased to this member) a group with one is held
        for the handoff grace first and settled by its next evaluation."""
        if self.config.coordination.enabled:
            if only:
                assert isinstance(self.store, SharedStateStore)  # a fleet shares its state
                self.handoffs.hold({a.group for a in self.store.unfinished_actions(only)})
            return  # each group is reconciled by whoever leases it
        self._settle(None)

    def _settle(self, only: list[str] | None) -> None:
        now = self.clock.now()
        self.world.advance(now)
        targets = {n: (rt.binding.spec, rt.cloud.cloud) for n, rt in self.groups.items()}
        for s in reconcile(self.store, targets, now, only=only):
            self.log.event(
                "warning" if s.how in ("failed", "superseded", "abandoned") else "info",
                f"reconciled interrupted action {s.action.action_id}: {s.how}",
                group=s.action.group,
                detail=s.detail,
            )

    def _held(self, name: str) -> bool:
        """True while a group just taken over waits out its handoff grace (or its
        interrupted action could not be settled: it tries again next tick)."""
        try:
            left = self.handoffs.waiting(name, self._settle)
        except StateError as exc:
            self.log.event("error", f"interrupted action not settled: {exc}", group=name)
            return True
        if left is not None:
            self.log.event(
                "info",
                f"holding: its interrupted action is settled in {left:.1f} s, once the"
                " previous owner's call can have landed",
                group=name,
            )
        return left is not None
