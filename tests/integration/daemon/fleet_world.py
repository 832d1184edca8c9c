"""A world shared by several ``autoscaler run`` processes (``fleet_world:build``).

The cloud is one SQLite database, ``$FAKE_CLOUD_DIR/cloud.db`` (WAL), so it outlives a
``kill -9`` and serialises the members' changes as a real cloud API would while reads
go on side by side (a JSON file under one lock, read and rewritten whole on every call,
made the fake cloud, not the daemons, the bottleneck of 1,000 groups). Every ``scale``
call is a row of ``calls`` with the calling member (``$FAKE_MEMBER``), the wall time and
whether the cloud applied it or had already seen its ``action_id`` (idempotent);
``hang-before-<member>`` / ``hang-after-<member>`` files catch that member inside
``scale``. All members share one simulated clock anchored at ``$FLEET_T0`` (wall
seconds), and each group's load is its own sine wave, so that groups keep scaling out
and in.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from autoscaler.config import Config, GroupConfig
from autoscaler.model import GroupSpec, GroupStatus, InstanceInfo, MetricWindow, ScaleAction

START = datetime(2026, 1, 5, tzinfo=UTC)
PERIOD = timedelta(minutes=20)
CLOUD_DB = "cloud.db"
CALL_COLUMNS = ("member", "wall", "id", "grp", "current", "target", "duplicate")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, member TEXT NOT NULL, wall REAL NOT NULL,
    id TEXT NOT NULL, grp TEXT NOT NULL, current INTEGER NOT NULL, target INTEGER NOT NULL,
    duplicate INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS calls_id ON calls (id);
"""


def open_cloud(directory: Path) -> sqlite3.Connection:
    """A connection to the shared cloud database (created on first use)."""
    db = sqlite3.connect(directory / CLOUD_DB, timeout=60, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    return db


class SharedClock:
    """Simulated time every member agrees on: ``START + (wall - T0) * speedup``."""

    def __init__(self, t0: float, speedup: float) -> None:
        self.t0, self.speedup = t0, speedup

    def now(self) -> datetime:
        return START + timedelta(seconds=(time.time() - self.t0) * self.speedup)


class SharedDbCloud:
    capabilities = frozenset({"absolute_count"})

    def __init__(self, directory: Path, member: str) -> None:
        self.dir, self.member = directory, member
        self._local = threading.local()  # one connection per thread

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_cloud(self.dir)
        return db

    def ensure(self, name: str, size: int) -> None:
        self._db().execute("INSERT OR IGNORE INTO groups VALUES (?, ?)", (name, size))

    def status(self, group: GroupSpec) -> GroupStatus:
        (size,) = (
            self._db().execute("SELECT size FROM groups WHERE name = ?", (group.name,)).fetchone()
        )
        return GroupStatus(int(size))

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        return []

    def scale(self, action: ScaleAction) -> None:
        self._hang_if("hang-before")
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # one change at a time, as the cloud's API
        try:
            duplicate = (
                db.execute(
                    "SELECT 1 FROM calls WHERE id = ? AND duplicate = 0", (action.action_id,)
                ).fetchone()
                is not None
            )
            if not duplicate:
                db.execute(
                    "UPDATE groups SET size = ? WHERE name = ?", (action.target, action.group)
                )
            db.execute(
                f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.member,
                    time.time(),
                    action.action_id,
                    action.group,
                    action.current,
                    action.target,
                    int(duplicate),
                ),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._hang_if("hang-after")

    def _hang_if(self, name: str) -> None:
        """While ``<name>-<member>`` exists, this member's ``scale`` does not return
        (before or after applying): it is caught in the middle of an action, and goes
        on within 50 ms of the file's removal."""
        if (self.dir / f"{name}-{self.member}").exists():
            (self.dir / f"hung-{self.member}").touch()
            while (self.dir / f"{name}-{self.member}").exists():
                time.sleep(0.05)


class SineSource:
    def __init__(self, base: float, phase: float) -> None:
        self.base, self.phase = base, phase

    def _at(self, t: datetime) -> float:
        x = 2 * math.pi * (t - START).total_seconds() / PERIOD.total_seconds() + self.phase
        return self.base * (1 + 0.6 * math.sin(x))

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        n = int(span / step)
        values = [self._at(end - step * (n - 1 - i)) for i in range(n)]
        return MetricWindow(end, step, np.array(values))

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        raise NotImplementedError


class FleetWorld:
    refit_inline = False

    def __init__(self, config: Config) -> None:
        self.clock = SharedClock(float(os.environ["FLEET_T0"]), config.daemon.speedup)
        self.cloud = SharedDbCloud(
            Path(os.environ["FAKE_CLOUD_DIR"]), os.environ.get("FAKE_MEMBER", "?")
        )

    def cloud_for(self, group: GroupConfig) -> SharedDbCloud:
        self.cloud.ensure(group.name, group.min_size)
        return self.cloud

    def source_for(self, group: GroupConfig) -> SineSource:
        index = int(group.name.rsplit("-", 1)[-1]) if group.name[-1].isdigit() else 0
        return SineSource(400.0, index * 0.7)

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        return None


def build(config: Config) -> FleetWorld:
    return FleetWorld(config)
