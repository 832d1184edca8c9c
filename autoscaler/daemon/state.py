"""``SqliteStateStore``: the daemon's durable state in one SQLite database (WAL mode).

Tables: ``actions`` (the journal: intent written before the cloud is asked, outcome
after), ``cooldowns`` (time of the last completed action per group and direction),
``policy_memory`` (JSON), ``audit`` (one JSON record per group per tick) and ``paused``
(groups an operator paused, kept across restarts; created in older databases too).

Every write is one transaction, so a crash, a full disk or a lock leaves the database
as it was before that write. Every SQLite failure surfaces as ``StateError`` with one
line naming the database and the cause. Safe to share between threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from autoscaler.daemon.records import (
    JOURNAL_COLUMNS,
    audit_record,
    iso,
    journalled_action,
    placement_records,
)
from autoscaler.daemon.redact import Redactor
from autoscaler.model import ScaleAction, ensure_utc
from autoscaler.private_files import private_dir, touch_private

DB_NAME = "state.db"
PRUNE_EVERY = 100  # audit writes between two deletions of expired records
# 2: actions.placements (JSON list of {"host", "zone"}), added to version-1 databases.
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (
    action_id TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    created_at TEXT NOT NULL,
    current INTEGER NOT NULL,
    target INTEGER NOT NULL,
    reason TEXT NOT NULL,
    victims TEXT NOT NULL,
    outcome TEXT,
    placements TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS actions_open ON actions (outcome) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS cooldowns (
    grp TEXT NOT NULL, direction TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (grp, direction)
);
CREATE TABLE IF NOT EXISTS policy_memory (
    grp TEXT NOT NULL, policy TEXT NOT NULL, memory TEXT NOT NULL,
    PRIMARY KEY (grp, policy)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    at TEXT NOT NULL,
    action_id TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_group ON audit (grp, id);
CREATE TABLE IF NOT EXISTS paused (grp TEXT PRIMARY KEY, at TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (grp TEXT PRIMARY KEY, at TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
"""


class StateError(Exception):
    """The state database cannot be read or written (locked, disk full, read-only)."""


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _describe(exc: sqlite3.Error) -> str:
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return f"database is locked by another process ({msg})"
    if "full" in msg:
        return f"disk full ({msg}); nothing was written"
    if "readonly" in msg or "read-only" in msg:
        return f"cannot write ({msg})"
    return msg


class SqliteStateStore:
    """The engine's ``StateStore`` on SQLite.

    ``redactor`` cleans every text that goes into the audit log and the journal.
    The audit record says what the policies saw (``TickOutcome.seen``). ``busy_timeout`` is how long a write waits for another writer.
    ``max_pages`` caps the database size (used to test a full disk).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        redactor: Redactor | None = None,
        busy_timeout: float = 2.0,
        max_pages: int | None = None,
        audit_retention: timedelta | None = None,
    ) -> None:
        self.path = Path(path)
        # Records older than this behind the newest are deleted (every PRUNE_EVERY writes);
        # SQLite reuses the freed pages, so the file stops growing.
        self.audit_retention = audit_retention
        self._since_prune = 0
        self.redactor = redactor or Redactor()
        self._lock = threading.RLock()
        self._memory: dict[tuple[str, str], object] = {}
        # The newest record written per group (already redacted), for the daemon's views.
        self.last_records: dict[str, dict[str, Any]] = {}
        try:
            # 0600 before SQLite opens it: its -wal and -shm files take the same mode
            if str(path) != ":memory:":
                touch_private(self.path)
        except OSError as exc:
            raise StateError(f"state database {self.path}: {exc.strerror or exc}") from None
        try:
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if max_pages is not None:
                self._db.execute(f"PRAGMA max_page_count={int(max_pages)}")
            # One transaction: the schema (and its migration) appears whole or not at all.
            self._db.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}"
                f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
            )
            try:
                self._migrate()
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise StateError(f"state database {self.path}: {_describe(exc)}") from None
        # The file we opened: deleted or replaced under us, every later write would go to
        # a file nobody will read again (lost at exit), so writes stop (see identity_problem).
        self._identity = _file_identity(self.path) if str(path) != ":memory:" else None

    def _migrate(self) -> None:
        """Bring an older database up to ``SCHEMA_VERSION`` inside the open transaction;
        its rows keep their values (old actions get no placements)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(actions)")}
        if "placements" not in columns:
            self._db.execute("ALTER TABLE actions ADD COLUMN placements TEXT NOT NULL DEFAULT '[]'")
        self._db.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
            (str(SCHEMA_VERSION), SCHEMA_VERSION),
        )

    @classmethod
    def in_dir(cls, state_dir: str | Path, **kwargs: Any) -> SqliteStateStore:
        """Open (creating if needed) ``state.db`` in ``state_dir``. Raises ``StateError``."""
        d = Path(state_dir)
        try:
            private_dir(d)
        except OSError as exc:
            raise StateError(f"state directory {d}: {exc.strerror or exc}") from None
        return cls(d / DB_NAME, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def identity_problem(self) -> str | None:
        """Why the database file is no longer the one opened (deleted, or replaced by
        another file), or None. While there is one, every write raises ``StateError``:
        no action is taken (its intent could not be kept) until the daemon restarts."""
        if self._identity is None:
            return None
        now = _file_identity(self.path)
        if now == self._identity:
            return None
        what = "deleted" if now is None else "replaced by another file"
        return (
            f"state database {self.path} was {what} while the daemon ran; not acting "
            "(restart the daemon to open it again)"
        )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back whole on any error (and refused while the
        file is not the one opened)."""
        problem = self.identity_problem()
        if problem is not None:
            raise StateError(problem)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateError(f"state database {self.path}: {_describe(exc)}") from None
            try:
                yield self._db
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"state database {self.path}: {_describe(exc)}") from None
            except BaseException:
                self._rollback()
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"state database {self.path}: {_describe(exc)}") from None

    def _rollback(self) -> None:
        # SQLite may already have rolled back (e.g. on SQLITE_FULL); nothing left to undo.
        with suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StateError(f"state database {self.path}: {_describe(exc)}") from None

    # ---------------------------------------------------------------- StateStore

    def last_action(self, group: str, direction: str) -> datetime | None:
        rows = self._read(
            "SELECT at FROM cooldowns WHERE grp = ? AND direction = ?", (group, direction)
        )
        return ensure_utc(datetime.fromisoformat(rows[0][0])) if rows else None

    def policy_memory(self, group: str, policy: str) -> object:
        key = (group, policy)
        if key not in self._memory:
            rows = self._read("SELECT memory FROM policy_memory WHERE grp = ? AND policy = ?", key)
            self._memory[key] = json.loads(rows[0][0]) if rows else None
        return self._memory[key]

    def set_policy_memory(self, group: str, policy: str, memory: object) -> None:
        """Kept in memory as given; persisted as JSON when it can be (else only in memory)."""
        self._memory[(group, policy)] = memory
        try:
            text = json.dumps(memory)
        except (TypeError, ValueError):
            return
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO policy_memory VALUES (?, ?, ?)", (group, policy, text)
            )

    def begin_action(self, action: ScaleAction) -> None:
        """Journal the intent. Must succeed before the cloud is asked (raises ``StateError``)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO actions (action_id, grp, created_at, current, target,"
                " reason, victims, placements) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action.action_id,
                    action.group,
                    iso(action.created_at),
                    action.current,
                    action.target,
                    self.redactor.text(action.reason),
                    json.dumps(list(action.victims)),
                    json.dumps(placement_records(action.placements)),
                ),
            )

    def finish_action(self, action: ScaleAction, outcome: str) -> None:
        """Record the outcome; a ``"done"`` action also starts its direction's cooldown."""
        with self._tx() as db:
            db.execute(
                "UPDATE actions SET outcome = ? WHERE action_id = ?",
                (self.redactor.text(outcome), action.action_id),
            )
            if outcome == "done":
                db.execute(
                    "INSERT OR REPLACE INTO cooldowns VALUES (?, ?, ?)",
                    (action.group, action.direction.value, iso(action.created_at)),
                )

    def unfinished_actions(self) -> Sequence[ScaleAction]:
        rows = self._read(
            f"SELECT {JOURNAL_COLUMNS} FROM actions WHERE outcome IS NULL ORDER BY created_at"
        )
        return [journalled_action(row) for row in rows]

    def record(self, outcome: object) -> None:
        """Append one audit record (a ``TickOutcome`` or an already built dict)."""
        rec = self.redactor.value(audit_record(outcome))
        self.last_records[rec["group"]] = rec
        action = rec.get("action") or {}
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit (grp, at, action_id, record) VALUES (?, ?, ?, ?)",
                (rec["group"], rec["at"], action.get("id"), json.dumps(rec)),
            )
            self._since_prune += 1
            if self.audit_retention is not None and self._since_prune >= PRUNE_EVERY:
                self._since_prune = 0
                cutoff = datetime.fromisoformat(rec["at"]) - self.audit_retention
                db.execute("DELETE FROM audit WHERE at < ?", (iso(cutoff),))

    def record_plan(self, group: str, plan: dict[str, Any]) -> None:
        """Keep ``plan`` as the group's latest rebalance plan (replacing the previous)."""
        rec = self.redactor.value(plan)
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO plans (grp, at, record) VALUES (?, ?, ?)",
                (group, rec["at"], json.dumps(rec)),
            )

    def last_plan(self, group: str) -> dict[str, Any] | None:
        rows = self._read("SELECT record FROM plans WHERE grp = ?", (group,))
        return json.loads(rows[0][0]) if rows else None

    # ---------------------------------------------------------------- reading back

    def decisions(self, group: str, last: int = 10) -> list[dict[str, Any]]:
        """The newest ``last`` audit records of ``group``, oldest first."""
        rows = self._read(
            "SELECT record FROM audit WHERE grp = ? ORDER BY id DESC LIMIT ?", (group, last)
        )
        return [json.loads(r[0]) for r in reversed(rows)]

    def latest_decisions(self, groups: Collection[str]) -> dict[str, dict[str, Any]]:
        """Each group's newest audit record (groups without one are left out)."""
        found = {}
        for g in groups:
            rows = self._read(
                "SELECT record FROM audit WHERE grp = ? ORDER BY id DESC LIMIT 1", (g,)
            )
            if rows:
                found[g] = json.loads(rows[0][0])
        return found

    def audited_actions(self, group: str | None = None) -> list[dict[str, Any]]:
        """Every audit record that carries an action, oldest first."""
        sql = "SELECT record FROM audit WHERE action_id IS NOT NULL"
        args: tuple[Any, ...] = ()
        if group is not None:
            sql += " AND grp = ?"
            args = (group,)
        return [json.loads(r[0]) for r in self._read(sql + " ORDER BY id", args)]

    def journal(self) -> list[tuple[str, str | None]]:
        """(action_id, outcome) for every journalled action, oldest first."""
        return [
            (a, o)
            for a, o in self._read("SELECT action_id, outcome FROM actions ORDER BY created_at")
        ]

    def set_paused(self, group: str, at: datetime, reason: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO paused VALUES (?, ?, ?)",
                (group, iso(at), self.redactor.text(reason)),
            )

    def clear_paused(self, group: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM paused WHERE grp = ?", (group,))

    def paused(self) -> dict[str, dict[str, str]]:
        """Each paused group's ``{"at": ISO time, "reason": text}``."""
        rows = self._read("SELECT grp, at, reason FROM paused")
        return {g: {"at": at, "reason": reason} for g, at, reason in rows}

    def cooldowns(self, group: str) -> dict[str, str]:
        return dict(self._read("SELECT direction, at FROM cooldowns WHERE grp = ?", (group,)))
