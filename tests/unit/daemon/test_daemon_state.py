"""SqliteStateStore: the journal, cooldowns, memory and audit survive a reopen; a lock,
a full disk or a read-only directory give one clear error and corrupt nothing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_fakes import T0

from autoscaler.daemon.redact import Redactor
from autoscaler.daemon.state import SqliteStateStore, StateError
from autoscaler.model import Decision, GroupStatus, ScaleAction, TickOutcome


def action(n: int = 1, target: int = 5, group: str = "web") -> ScaleAction:
    return ScaleAction(group, f"{group}-{n}-{target}", T0 + timedelta(minutes=n), 3, target, "why")


def outcome(a: ScaleAction | None = None, group: str = "web") -> TickOutcome:
    desired = a.target if a is not None else 3
    votes = (Decision(desired, "load", "target"),)
    return TickOutcome(group, T0, GroupStatus(3, 0), votes, desired, desired, None, a)


def test_journal_cooldowns_and_memory_survive_reopen(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    s = SqliteStateStore(db)
    up, down = action(1, 5), action(2, 2)
    s.begin_action(up)
    s.finish_action(up, "done")
    s.begin_action(down)  # interrupted: no outcome
    s.set_policy_memory("web", "target", {"history": [1, 2, 3]})
    s.close()

    s = SqliteStateStore(db)
    assert s.last_action("web", "up") == up.created_at
    assert s.last_action("web", "down") is None  # an unfinished action starts no cooldown
    assert [a.action_id for a in s.unfinished_actions()] == [down.action_id]
    assert s.unfinished_actions()[0] == down
    assert s.policy_memory("web", "target") == {"history": [1, 2, 3]}
    assert s.journal() == [(up.action_id, "done"), (down.action_id, None)]
    assert sqlite_mode(db) == "wal"


def sqlite_mode(db: Path) -> str:
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA journal_mode").fetchone()[0]


def test_failed_action_starts_no_cooldown(tmp_path: Path) -> None:
    s = SqliteStateStore(tmp_path / "state.db")
    a = action()
    s.begin_action(a)
    s.finish_action(a, "failed: 503")
    assert s.last_action("web", "up") is None
    assert s.unfinished_actions() == []


def test_audit_records_every_field_and_reads_back_newest_last(tmp_path: Path) -> None:
    s = SqliteStateStore(tmp_path / "state.db")
    s.record(outcome())
    s.record(outcome(action()))
    s.record(outcome(group="other"))
    recs = s.decisions("web", last=10)
    assert [r["outcome"] for r in recs] == ["hold", "done"]
    assert recs[1]["votes"] == [{"policy": "target", "desired": 5, "reason": "load"}]
    assert recs[0]["desired"] == 3 and recs[1]["desired"] == 5
    assert recs[1]["action"]["id"] == "web-1-5"
    assert recs[1]["status"]["ready"] == 3
    assert [r["action"]["id"] for r in s.audited_actions()] == ["web-1-5"]
    assert len(s.decisions("web", last=1)) == 1


def test_secrets_never_reach_the_database(tmp_path: Path) -> None:
    token = "gAAAAAB-secret-token-1234"
    s = SqliteStateStore(tmp_path / "state.db", redactor=Redactor(environ={"OS_TOKEN": token}))
    o = TickOutcome("web", T0, None, (), None, None, None, None, f"401 for token {token}", "cloud")
    s.record(o)
    a = ScaleAction("web", "web-1", T0, 1, 2, f"reason with {token}")
    s.begin_action(a)
    s.finish_action(a, f"failed: auth {token}")
    s.close()
    raw = (tmp_path / "state.db").read_bytes() + _wal(tmp_path)
    assert token.encode() not in raw
    assert b"***" in raw


def _wal(d: Path) -> bytes:
    p = d / "state.db-wal"
    return p.read_bytes() if p.exists() else b""


def test_locked_database_gives_clear_error_and_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    s = SqliteStateStore(db, busy_timeout=0.1)
    s.record(outcome())
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StateError, match=r"state\.db: database is locked"):
            s.begin_action(action())
        with pytest.raises(StateError, match="locked"):
            s.record(outcome())
    finally:
        other.execute("ROLLBACK")
        other.close()
    # Nothing half-written; the store works again once the lock is gone.
    assert s.unfinished_actions() == []
    s.begin_action(action())
    assert len(s.unfinished_actions()) == 1
    assert len(s.decisions("web")) == 1


def test_full_disk_gives_clear_error_and_no_corruption(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    s = SqliteStateStore(db, max_pages=40)
    big = "x" * 2000
    written = 0
    with pytest.raises(StateError, match="disk full"):
        for i in range(1000):
            s.begin_action(ScaleAction("web", f"a{i}", T0, 1, 2, big))
            written += 1
    assert 0 < written < 1000
    assert len(s.unfinished_actions()) == written  # every committed row, no partial one
    s.close()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_unusable_state_dir_fails_at_start_with_its_path(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(StateError, match=r"state directory .*file/state: Not a directory"):
        SqliteStateStore.in_dir(not_a_dir / "state")
    (tmp_path / "d" / "state.db").mkdir(parents=True)
    with pytest.raises(StateError, match=r"d/state\.db: Is a directory"):
        SqliteStateStore.in_dir(tmp_path / "d")
