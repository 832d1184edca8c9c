"""Choosing the state store and joining the fleet, for ``run_daemon``.

Without ``coordination.backend_url`` the daemon keeps its state in SQLite under its
state directory and runs every group. With it, the state lives in the shared
PostgreSQL database and a ``FleetMember`` decides which groups this daemon runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoscaler.config import Config
from autoscaler.daemon.fleet import FleetMember, default_member_id
from autoscaler.daemon.redact import Redactor
from autoscaler.daemon.shared_state import SharedStateStore
from autoscaler.daemon.state import SqliteStateStore


def open_store(
    config: Config, state_dir: Path, redactor: Redactor
) -> SqliteStateStore | SharedStateStore:
    """The store this daemon writes to. Raises ``StateError``."""
    coord = config.coordination
    if not coord.enabled:
        return SqliteStateStore.in_dir(
            state_dir, redactor=redactor, audit_retention=config.daemon.audit_retention
        )
    assert coord.state_url is not None  # the config requires it with a backend
    workers = max(2, min(8, 2 * len(config.groups)))
    return SharedStateStore(
        coord.state_url,
        coord.member_id or default_member_id(),
        redactor=redactor,
        pool_size=workers + 2,
    )


def join_fleet(daemon: Any, store: SqliteStateStore | SharedStateStore, registry: Any) -> None:
    """Make ``daemon`` a fleet member when the config asks for one (else do nothing).

    Called after the groups are built and before the scheduler starts: the first
    heartbeat already leases and reconciles this member's share.
    """
    coord = daemon.config.coordination
    if not coord.enabled:
        return
    assert isinstance(store, SharedStateStore)
    fleet = FleetMember(
        coord,
        store,
        groups=lambda: list(daemon.groups),
        member_id=store.member,
        on_acquire=lambda names: daemon.reconcile(only=names),
        on_active=daemon.evaluate_soon,  # a take-over is evaluated at once, not an interval on
        log=daemon.log,
        registry=registry,
    )
    store.fence = fleet.epoch
    daemon.fleet = fleet
    fleet.start()
