"""``SharedStateStore``: the daemon's state in one PostgreSQL database shared by a fleet.

Same tables and contract as ``SqliteStateStore`` (journal, cooldowns, policy memory,
audit), plus ``leases``: one row per group naming its owner and a fencing ``epoch``
that grows by one on every change of owner. A member that takes a group bumps the
epoch; every write that acts for a group (``begin_action``, ``finish_action``,
``set_policy_memory``) is one statement that locks the lease row and writes only if the
lease still carries this member's epoch. A member that lost the group (a partition, a
slow heartbeat) is therefore refused at the moment it would journal an action, before
the cloud is asked: two members never act on one group.

Round trips are what a fleet of thousands of groups pays for (measured with
``bench/fleet_load.py``), so each call is one statement on an autocommit connection
(the fence and the write together, in one statement), leases are taken in one statement
for any number of groups, and what only the lease holder writes (cooldowns, policy
memory) is cached by the holder until the group changes hands (``forget``).
"""

from __future__ import annotations

import json
import threading
import time
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
from autoscaler.daemon.shared_reads import SharedReads
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
# A pooled connection unused for this long is pinged before it is handed out (one
# that was just used is not: a ping per call doubled the round trips).
IDLE_PING_SECONDS = 5.0
LEASE_BATCH = 500  # groups leased per statement

# One statement that locks the group's lease row, runs WRITES (CTEs that read ``ours``:
# one row when the lease carries this member's epoch, none otherwise) and returns the
# lease as it is: the caller raises ``FencedError`` unless it is ours. In READ COMMITTED
# a lease taken meanwhile is waited for and read as it is after that change.
_FENCED = (
    "WITH lease AS (SELECT owner, epoch FROM leases WHERE grp = :g FOR UPDATE),"
    " ours AS (SELECT 1 AS one FROM lease WHERE owner = :m AND epoch = :e), {writes}"
    " SELECT owner, epoch{extra} FROM lease"
)
_UNSET = object()


class FencedError(StateError):
    """This member's lease on a group is void (another member took it): do not act."""


class PausedError(StateError):
    """The group was paused (perhaps through another member's API): do not act."""


class SharedStateStore(SharedReads):
    """The engine's ``StateStore`` on PostgreSQL (SQLAlchemy + psycopg 3), for a fleet.

    ``member`` names this daemon in leases, the journal and the audit log. ``fence``
    returns the lease epoch this member believes it holds for a group (``None``: it
    holds none); the store checks it against the database on every acting write.
    A pooled connection unused for ``idle_ping`` seconds is checked before it is used.
    """

    def __init__(
        self,
        url: str,
        member: str,
        *,
        redactor: Redactor | None = None,
        fence: Callable[[str], int | None] | None = None,
        pool_size: int = 8,
        idle_ping: float = IDLE_PING_SECONDS,
    ) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.member = member
        self.redactor = redactor or Redactor()
        self.fence = fence
        self.last_records: dict[str, dict[str, Any]] = {}
        # What only the lease holder writes, as it wrote it: (group, policy) -> memory
        # (its JSON), (group, direction) -> time of the last action.
        self._memory: dict[tuple[str, str], tuple[object, str | None]] = {}
        self._cooldown: dict[tuple[str, str], datetime | None] = {}
        self._cache_lock = threading.Lock()
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
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=5,
            pool_use_lifo=True,  # the busy connections stay warm, the idle ones get pinged
            connect_args={"connect_timeout": 5},
        )
        _ping_idle_connections(self._engine, idle_ping)
        self._auto = self._engine.execution_options(isolation_level="AUTOCOMMIT")
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
    def _failures(self) -> Iterator[None]:
        """Any database failure becomes one-line ``StateError``."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            yield
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StateError(
                f"state database {self.where}: {cause[0] if cause else type(exc).__name__}"
            ) from None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction of several statements."""
        with self._failures(), self._engine.begin() as db:
            yield db

    def _rows(self, sql: str, **args: Any) -> list[Any]:
        """One statement (its own transaction: one round trip); its rows."""
        from sqlalchemy import text

        with self._failures(), self._auto.connect() as db:
            return list(db.execute(text(sql), args))

    # ---------------------------------------------------------------- leases

    def take_lease(self, group: str) -> int:
        """Make this member the owner of ``group``; returns the new fencing epoch."""
        return self.take_leases([group])[group]

    def take_leases(self, groups: Collection[str]) -> dict[str, int]:
        """Make this member the owner of every group in ``groups``: group -> its new
        fencing epoch. One statement per ``LEASE_BATCH`` groups, each atomic; rows are
        locked in name order, so members taking overlapping sets never deadlock."""
        names = sorted(set(groups))
        now = iso(datetime.now(UTC))
        epochs: dict[str, int] = {}
        for i in range(0, len(names), LEASE_BATCH):
            rows = self._rows(
                "INSERT INTO leases (grp, owner, epoch, since)"
                " SELECT g, :m, 1, :now FROM unnest(CAST(:gs AS text[])) AS t(g) ORDER BY g"
                " ON CONFLICT (grp) DO UPDATE SET owner = EXCLUDED.owner,"
                " epoch = leases.epoch + 1, since = EXCLUDED.since RETURNING grp, epoch",
                m=self.member,
                now=now,
                gs=names[i : i + LEASE_BATCH],
            )
            epochs.update((g, int(e)) for g, e in rows)
        return epochs

    def lease(self, group: str) -> tuple[str, int] | None:
        rows = self._rows("SELECT owner, epoch FROM leases WHERE grp = :g", g=group)
        return (rows[0][0], int(rows[0][1])) if rows else None

    def leases_held(self) -> dict[str, int]:
        """group -> epoch of every lease this member holds in the database."""
        rows = self._rows("SELECT grp, epoch FROM leases WHERE owner = :m", m=self.member)
        return {g: int(e) for g, e in rows}

    def _fenced(self, group: str, writes: str, extra: str = "", **args: Any) -> tuple[Any, ...]:
        """Run ``writes`` (see ``_FENCED``) for ``group`` if this member holds its lease;
        returns the lease row (owner, epoch, ``extra``...). Raises ``FencedError`` (and
        nothing was written) when the lease is not, or no longer, ours."""
        held = self.fence(group) if self.fence is not None else None
        sql = _FENCED.format(writes=writes, extra=extra)
        rows = self._rows(sql, g=group, m=self.member, e=-1 if held is None else held, **args)
        row = rows[0] if rows else None
        if held is None or row is None or row[0] != self.member or int(row[1]) != held:
            now_owner = f"{row[0]} (epoch {row[1]})" if row is not None else "nobody"
            raise FencedError(
                f"group {group}: lease held by {now_owner}, not by this member "
                f"{self.member} (epoch {held}); nothing done"
            )
        return tuple(row)

    def forget(self, group: str) -> None:
        """Drop what this process cached about ``group`` (it changed hands)."""
        self.forget_groups([group])

    def forget_groups(self, groups: Collection[str]) -> None:
        gone = set(groups)
        with self._cache_lock:
            for cache in (self._memory, self._cooldown):
                for key in [k for k in cache if k[0] in gone]:
                    del cache[key]
        for g in gone:
            self.last_records.pop(g, None)

    # ---------------------------------------------------------------- StateStore

    def last_action(self, group: str, direction: str) -> datetime | None:
        key = (group, direction)
        with self._cache_lock:
            if key in self._cooldown:
                return self._cooldown[key]
        rows = self._rows(
            "SELECT at FROM cooldowns WHERE grp = :g AND direction = :d", g=group, d=direction
        )
        value = ensure_utc(datetime.fromisoformat(rows[0][0])) if rows else None
        with self._cache_lock:
            self._cooldown.setdefault(key, value)
        return value

    def policy_memory(self, group: str, policy: str) -> object:
        key = (group, policy)
        with self._cache_lock:
            if key in self._memory:
                return self._memory[key][0]
        rows = self._rows(
            "SELECT memory FROM policy_memory WHERE grp = :g AND policy = :p", g=group, p=policy
        )
        value = json.loads(rows[0][0]) if rows else None
        with self._cache_lock:
            self._memory.setdefault(key, (value, rows[0][0] if rows else None))
        return value

    def set_policy_memory(self, group: str, policy: str, memory: object) -> None:
        """Fenced like an action; skipped when the stored memory is already this one."""
        key = (group, policy)
        try:
            blob = json.dumps(memory)
        except (TypeError, ValueError):
            with self._cache_lock:
                self._memory[key] = (memory, None)
            return
        with self._cache_lock:
            if self._memory.get(key, (None, _UNSET))[1] == blob:
                return
        self._fenced(
            group,
            "w AS (INSERT INTO policy_memory (grp, policy, memory) SELECT :g, :p, :mem"
            " FROM ours ON CONFLICT (grp, policy) DO UPDATE SET memory = EXCLUDED.memory)",
            p=policy,
            mem=blob,
        )
        with self._cache_lock:
            self._memory[key] = (memory, blob)

    def begin_action(self, action: ScaleAction) -> None:
        """Journal the intent, fenced: raises ``FencedError`` unless this member still
        holds the group's lease, ``PausedError`` when an operator paused the group (on
        any member: this one may not have seen it yet), ``StateError`` when the database
        fails."""
        row = self._fenced(
            action.group,
            "stop AS (SELECT 1 FROM paused WHERE grp = :g),"
            " w AS (INSERT INTO actions (action_id, grp, created_at, current, target, reason,"
            " victims, placements, member, epoch) SELECT :id, :g, :at, :cur, :tgt, :why,"
            " :vic, :pl, :m, :e FROM ours WHERE NOT EXISTS (SELECT 1 FROM stop)"
            " ON CONFLICT (action_id) DO NOTHING)",
            extra=", EXISTS (SELECT 1 FROM stop)",
            id=action.action_id,
            at=iso(action.created_at),
            cur=action.current,
            tgt=action.target,
            why=self.redactor.text(action.reason),
            vic=json.dumps(list(action.victims)),
            pl=json.dumps(placement_records(action.placements)),
        )
        if row[2]:
            raise PausedError(f"group {action.group} is paused; nothing done")
        if self.fence is not None and self.fence(action.group) != int(row[1]):
            # Our view of the ring expired while the intent was written: the next owner
            # may already be settling it, so the cloud is not asked (it settles this one).
            raise FencedError(
                f"group {action.group}: this member's lease lapsed while journalling "
                f"{action.action_id}; not sent, the group's next owner settles it"
            )

    def finish_action(self, action: ScaleAction, outcome: str) -> None:
        """Record the outcome once (a later owner may have settled it already), fenced;
        a ``done`` action starts its direction's cooldown."""
        done = outcome == "done"
        row = self._fenced(
            action.group,
            "settled AS (UPDATE actions SET outcome = :o WHERE action_id = :id"
            " AND outcome IS NULL AND EXISTS (SELECT 1 FROM ours) RETURNING action_id),"
            " cd AS (INSERT INTO cooldowns (grp, direction, at) SELECT :g, :d, :at"
            " FROM settled WHERE CAST(:done AS boolean) ON CONFLICT (grp, direction)"
            " DO UPDATE SET at = EXCLUDED.at)",
            extra=", (SELECT count(*) FROM settled)",
            o=self.redactor.text(outcome),
            id=action.action_id,
            d=action.direction.value,
            at=iso(action.created_at),
            done=done,
        )
        if done and row[2]:
            with self._cache_lock:
                self._cooldown[(action.group, action.direction.value)] = ensure_utc(
                    action.created_at
                )

    def unfinished_actions(self, groups: Collection[str] | None = None) -> Sequence[ScaleAction]:
        sql = f"SELECT {JOURNAL_COLUMNS} FROM actions WHERE outcome IS NULL"
        if groups is None:
            rows = self._rows(sql + " ORDER BY created_at")
        else:
            rows = self._rows(
                sql + " AND grp = ANY(CAST(:gs AS text[])) ORDER BY created_at", gs=list(groups)
            )
        return [journalled_action(row) for row in rows]

    def record(self, outcome: object) -> None:
        rec = self.redactor.value(audit_record(outcome, {"member": self.member}))
        self.last_records[rec["group"]] = rec
        action = rec.get("action") or {}
        self._rows(
            "INSERT INTO audit (grp, at, action_id, record, member)"
            " VALUES (:g, :at, :id, :r, :m) RETURNING id",
            g=rec["group"],
            at=rec["at"],
            id=action.get("id"),
            r=json.dumps(rec),
            m=self.member,
        )


def _ping_idle_connections(engine: Engine, idle: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection unused for ``idle``
    seconds (one dropped by a database restart is then replaced before it is used)."""
    from sqlalchemy import event, exc

    def stamp(dbapi_conn: Any, record: Any, *_: Any) -> None:
        record.info["used"] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("used", 0.0) < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception:  # psycopg's errors vary; the pool replaces the connection
            raise exc.DisconnectionError("stale connection") from None

    event.listen(engine, "connect", stamp)
    event.listen(engine, "checkin", stamp)
    event.listen(engine, "checkout", checkout)
