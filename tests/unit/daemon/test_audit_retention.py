"""``daemon.audit_retention``: once the retention is reached the database stops growing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from daemon_fakes import T0

from autoscaler.config import parse_config
from autoscaler.daemon.state import PRUNE_EVERY, SqliteStateStore
from autoscaler.model import Decision, GroupStatus, TickOutcome

MIN = timedelta(minutes=1)


def _tick(store: SqliteStateStore, k: int) -> None:
    votes = (Decision(3, f"tick {k}: a reason long enough to fill pages " * 4, "target"),)
    outcome = TickOutcome("web", T0 + k * MIN, GroupStatus(3, 0), votes, 3, 3, None, None)
    store.record(outcome)


def test_the_audit_stops_growing_once_retention_is_reached(tmp_path: Path) -> None:
    assert parse_config({"groups": [{"name": "web"}]}).daemon.audit_retention == timedelta(days=30)
    retention = timedelta(hours=6)
    store = SqliteStateStore(tmp_path / "state.db", audit_retention=retention)
    sizes = []
    for day in range(4):
        for k in range(day * 1440, (day + 1) * 1440):  # a day of one-minute ticks
            _tick(store, k)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes.append((tmp_path / "state.db").stat().st_size)
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM audit").fetchone()
    store.close()
    # what is kept: the last six hours, plus at most one pruning batch
    assert 360 <= rows <= 360 + PRUNE_EVERY
    assert oldest >= (T0 + (4 * 1440 - 1) * MIN - retention - PRUNE_EVERY * MIN).isoformat()[:16]
    # days 2 to 4 reuse the pages freed by pruning: the file no longer grows
    assert sizes[1] == sizes[2] == sizes[3], sizes


def test_without_retention_nothing_is_deleted(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    for k in range(3 * PRUNE_EVERY):
        _tick(store, k * 1440)  # a day apart: all far beyond any retention
    assert len(store.decisions("web", 10_000)) == 3 * PRUNE_EVERY
    store.close()
