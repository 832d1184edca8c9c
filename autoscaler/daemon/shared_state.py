"""``SharedStateStore``: the daemon's state in one PostgreSQL database shared by a fleet.

Same tables and contract as ``SqliteStateStore`` (journal, cooldowns, policy memory,
audit), plus ``leases``: one row per group naming its owner and a fencing ``epoch``
that grows by one on every change of owner. A member that takes a group bumps the
epoch; every write that acts for a group (``begin_action``, ``finish_action``,
``set_policy_memory``) checks, inside its own transaction and under the lease row's
lock, that the lease still carries this member's epoch. A member that lost the group
(a partition, a slow heartbeat) is therefore refused at the moment it would journal
an action, before the cloud is asked: two members never act on one group.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from autoscaler.daemon.records import (
    JOURNAL_COLUMNS,
    audit_record,
    iso,
    journalled_action,
    placement_records,
)
from autoscaler.daemon.redact import Redactor
from autoscaler.daemon.state import StateError
from autoscaler.model import ScaleAction, ensure_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS actions (
        action_id TEXT PRIMARY KEY, grp TEXT NOT NULL, created_at TEXT NOT NULL,
        current INTEGER NOT NULL, target INTEGER NOT NULL, reason TEXT NOT NULL,
        victims TEXT NOT NULL, outcome TEXT, placements TEXT NOT NULL DEFAULT '[]',
        member TEXT NOT NULL, epoch BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS actions_open ON actions (grp) WHERE outcome IS NULL",
    """CREATE TABLE IF NOT EXISTS cooldowns (
        grp TEXT NOT NULL, direction TEXT NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (grp, direction))""",
    """CREATE TABLE IF NOT EXISTS policy_memory (
        grp TEXT NOT NULL, policy TEXT NOT NULL, memory TEXT NOT NULL,
        PRIMARY KEY (grp, policy))""",
    """CREATE TABLE IF NOT EXISTS audit (
        id BIGSERIAL PRIMARY KEY, grp TEXT NOT NULL, at TEXT NOT NULL,
        action_id TEXT, record TEXT NOT NULL, member TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_group ON audit (grp, id)",
    """CREATE TABLE IF NOT EXISTS leases (
        grp TEXT PRIMARY KEY, owner TEXT NOT NULL, epoch BIGINT NOT NULL,
        since TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS paused (
        grp TEXT PRIMARY KEY, at TEXT NOT NULL, reason TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS plans (
        grp TEXT PRIMARY KEY, at TEXT NOT NULL, record TEXT NOT NULL)""",
]
# Serialises the schema creation of members that start at the same moment.
_SCHEMA_LOCK = 0x6175746F  # "auto"


class FencedError(StateError):
    """This member's lease on a group is void (another member took it): do not act."""


class SharedStateStore:
    """The engine's ``StateStore`` on PostgreSQL (SQLAlchemy + psycopg 3), for a fleet.

    ``member`` names this daemon in leases, the journal and the audit log. ``fence``
    returns the lease epoch this member believes it holds for a group (``None``: it
    holds none); the store checks it against the database on every acting write.
    """

    def __init__(
        self,
        url: str,
        member: str,
        *,
        redactor: Redactor | None = None,
        fence: Callable[[str], int | None] | None = None,
        pool_size: int = 8,
    ) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.member = member
        self.redactor = redactor or Redactor()
        self.fence = fence
        self.last_records: dict[str, dict[str, Any]] = {}
        self._memory: dict[tuple[str, str], object] = {}
        self._memory_lock = threading.Lock()
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError, ValueError...
            raise StateError(f"coordination.state_url: {exc}") from None
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Shown in every message: the password never is.
        self.where = parsed.render_as_string(hide_password=True)
        self._engine: Engine = create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=5,
            connect_args={"connect_timeout": 5},
        )
        with self._tx() as db:
            db.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
            for statement in _SCHEMA:
                db.exec_driver_sql(statement)

    def close(self) -> None:
        self._engine.dispose()

    def identity_problem(self) -> str | None:
        """Always None: a database server has no local file to lose (its failures are
        ``StateError`` on each call)."""
        return None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; any database failure becomes one-line ``StateError``."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self._engine.begin() as db:
                yield db
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StateError(
                f"state database {self.where}: {cause[0] if cause else type(exc).__name__}"
            ) from None

    def _rows(self, sql: str, **args: Any) -> list[Any]:
        from sqlalchemy import text

        with self._tx() as db:
            return list(db.execute(text(sql), args))

    # ---------------------------------------------------------------- leases

    def take_lease(self, group: str) -> int:
        """Make this member the owner of ``group``; returns the new fencing epoch."""
        from sqlalchemy import text

        with self._tx() as db:
            return int(
                db.execute(
                    text(
                        "INSERT INTO leases (grp, owner, epoch, since) VALUES (:g, :m, 1, :now)"
                        " ON CONFLICT (grp) DO UPDATE SET owner = EXCLUDED.owner,"
                        " epoch = leases.epoch + 1, since = EXCLUDED.since RETURNING epoch"
                    ),
                    {"g": group, "m": self.member, "now": iso(datetime.now(UTC))},
                ).scalar_one()
            )

    def lease(self, group: str) -> tuple[str, int] | None:
        rows = self._rows("SELECT owner, epoch FROM leases WHERE grp = :g", g=group)
        return (rows[0][0], int(rows[0][1])) if rows else None

    def leases_held(self) -> dict[str, int]:
        """group -> epoch of every lease this member holds in the database."""
        rows = self._rows("SELECT grp, epoch FROM leases WHERE owner = :m", m=self.member)
        return {g: int(e) for g, e in rows}

    def _check_lease(self, db: Connection, group: str) -> int:
        """Inside ``db``'s transaction: lock the lease row and return this member's
        epoch, or raise ``FencedError`` when the lease is not (or no longer) ours."""
        from sqlalchemy import text

        held = self.fence(group) if self.fence is not None else None
        row = db.execute(
            text("SELECT owner, epoch FROM leases WHERE grp = :g FOR UPDATE"), {"g": group}
        ).first()
        if held is None or row is None or row[0] != self.member or int(row[1]) != held:
            now_owner = f"{row[0]} (epoch {row[1]})" if row is not None else "nobody"
            raise FencedError(
                f"group {group}: lease held by {now_owner}, not by this member "
                f"{self.member} (epoch {held}); nothing done"
            )
        return held

    def forget(self, group: str) -> None:
        """Drop what this process cached about ``group`` (it changed hands)."""
        with self._memory_lock:
            for key in [k for k in self._memory if k[0] == group]:
                del self._memory[key]
        self.last_records.pop(group, None)

    # ---------------------------------------------------------------- StateStore

    def last_action(self, group: str, direction: str) -> datetime | None:
        rows = self._rows(
            "SELECT at FROM cooldowns WHERE grp = :g AND direction = :d", g=group, d=direction
        )
        return ensure_utc(datetime.fromisoformat(rows[0][0])) if rows else None

    def policy_memory(self, group: str, policy: str) -> object:
        key = (group, policy)
        with self._memory_lock:
            if key in self._memory:
                return self._memory[key]
        rows = self._rows(
            "SELECT memory FROM policy_memory WHERE grp = :g AND policy = :p", g=group, p=policy
        )
        value = json.loads(rows[0][0]) if rows else None
        with self._memory_lock:
            self._memory[key] = value
        return value

    def set_policy_memory(self, group: str, policy: str, memory: object) -> None:
        from sqlalchemy import text

        with self._memory_lock:
            self._memory[(group, policy)] = memory
        try:
            blob = json.dumps(memory)
        except (TypeError, ValueError):
            return
        with self._tx() as db:
            self._check_lease(db, group)
            db.execute(
                text(
                    "INSERT INTO policy_memory VALUES (:g, :p, :m)"
                    " ON CONFLICT (grp, policy) DO UPDATE SET memory = EXCLUDED.memory"
                ),
                {"g": group, "p": policy, "m": blob},
            )

    def begin_action(self, action: ScaleAction) -> None:
        """Journal the intent, fenced: raises ``FencedError`` unless this member still
        holds the group's lease, ``StateError`` when the database fails."""
        from sqlalchemy import text

        with self._tx() as db:
            epoch = self._check_lease(db, action.group)
            db.execute(
                text(
                    "INSERT INTO actions (action_id, grp, created_at, current, target, reason,"
                    " victims, placements, member, epoch) VALUES (:id, :g, :at, :cur, :tgt,"
                    " :why, :vic, :pl, :m, :e) ON CONFLICT (action_id) DO NOTHING"
                ),
                {
                    "id": action.action_id,
                    "g": action.group,
                    "at": iso(action.created_at),
                    "cur": action.current,
                    "tgt": action.target,
                    "why": self.redactor.text(action.reason),
                    "vic": json.dumps(list(action.victims)),
                    "pl": json.dumps(placement_records(action.placements)),
                    "m": self.member,
                    "e": epoch,
                },
            )

    def finish_action(self, action: ScaleAction, outcome: str) -> None:
        """Record the outcome once (a later owner may have settled it already)."""
        from sqlalchemy import text

        with self._tx() as db:
            self._check_lease(db, action.group)
            settled = db.execute(
                text("UPDATE actions SET outcome = :o WHERE action_id = :id AND outcome IS NULL"),
                {"o": self.redactor.text(outcome), "id": action.action_id},
            ).rowcount
            if settled and outcome == "done":
                db.execute(
                    text(
                        "INSERT INTO cooldowns VALUES (:g, :d, :at) ON CONFLICT (grp, direction)"
                        " DO UPDATE SET at = EXCLUDED.at"
                    ),
                    {"g": action.group, "d": action.direction.value, "at": iso(action.created_at)},
                )

    def unfinished_actions(self, groups: Collection[str] | None = None) -> Sequence[ScaleAction]:
        rows = self._rows(
            f"SELECT {JOURNAL_COLUMNS} FROM actions WHERE outcome IS NULL ORDER BY created_at"
        )
        return [journalled_action(row) for row in rows if groups is None or row[1] in groups]

    def record(self, outcome: object) -> None:
        from sqlalchemy import text

        rec = self.redactor.value(audit_record(outcome, {"member": self.member}))
        self.last_records[rec["group"]] = rec
        action = rec.get("action") or {}
        with self._tx() as db:
            db.execute(
                text(
                    "INSERT INTO audit (grp, at, action_id, record, member)"
                    " VALUES (:g, :at, :id, :r, :m)"
                ),
                {
                    "g": rec["group"],
                    "at": rec["at"],
                    "id": action.get("id"),
                    "r": json.dumps(rec),
                    "m": self.member,
                },
            )

    # ---------------------------------------------------------------- reading back

    def decisions(self, group: str, last: int = 10) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT record FROM audit WHERE grp = :g ORDER BY id DESC LIMIT :n", g=group, n=last
        )
        return [json.loads(r[0]) for r in reversed(rows)]

    def audited_actions(self, group: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT record FROM audit WHERE action_id IS NOT NULL"
        if group is not None:
            sql += " AND grp = :g"
        return [json.loads(r[0]) for r in self._rows(sql + " ORDER BY id", g=group)]

    def journal(self) -> list[tuple[str, str | None]]:
        return [
            (a, o)
            for a, o in self._rows("SELECT action_id, outcome FROM actions ORDER BY created_at")
        ]

    def cooldowns(self, group: str) -> dict[str, str]:
        return dict(self._rows("SELECT direction, at FROM cooldowns WHERE grp = :g", g=group))

    # ---------------------------------------------------------------- pauses and plans
    # As in the SQLite store, so that a pause and the latest rebalance plan follow a group
    # to whichever member owns it next.

    def set_paused(self, group: str, at: datetime, reason: str) -> None:
        self._rows(
            "INSERT INTO paused (grp, at, reason) VALUES (:g, :a, :r) ON CONFLICT (grp) "
            "DO UPDATE SET at = EXCLUDED.at, reason = EXCLUDED.reason RETURNING grp",
            g=group,
            a=iso(at),
            r=self.redactor.text(reason),
        )

    def clear_paused(self, group: str) -> None:
        self._rows("DELETE FROM paused WHERE grp = :g RETURNING grp", g=group)

    def paused(self) -> dict[str, dict[str, str]]:
        """Each paused group's ``{"at": ISO time, "reason": text}``."""
        rows = self._rows("SELECT grp, at, reason FROM paused")
        return {g: {"at": at, "reason": reason} for g, at, reason in rows}

    def record_plan(self, group: str, plan: dict[str, Any]) -> None:
        """Keep ``plan`` as the group's latest rebalance plan (replacing the previous)."""
        rec = self.redactor.value(plan)
        self._rows(
            "INSERT INTO plans (grp, at, record) VALUES (:g, :a, :r) ON CONFLICT (grp) "
            "DO UPDATE SET at = EXCLUDED.at, record = EXCLUDED.record RETURNING grp",
            g=group,
            a=rec["at"],
            r=json.dumps(rec),
        )

    def last_plan(self, group: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT record FROM plans WHERE grp = :g", g=group)
        return json.loads(rows[0][0]) if rows else None
