"""A world shared by several ``autoscaler run`` processes (``fleet_world:build``).

The cloud is one JSON file under ``$FAKE_CLOUD_DIR`` guarded by an ``fcntl`` lock, so
it outlives a ``kill -9`` and serialises the members as a real cloud API would. Every
``scale`` call is appended to ``calls.jsonl`` with the calling member
(``$FAKE_MEMBER``), the wall time and whether the cloud applied it or had already seen
its ``action_id`` (idempotent); ``hang-before-<member>`` / ``hang-after-<member>``
files catch that member inside ``scale``. All members share one simulated clock anchored at
``$FLEET_T0`` (wall seconds), and each group's load is its own sine wave, so that
groups keep scaling out and in.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from autoscaler.config import Config, GroupConfig
from autoscaler.model import GroupSpec, GroupStatus, InstanceInfo, MetricWindow, ScaleAction

START = datetime(2026, 1, 5, tzinfo=UTC)
PERIOD = timedelta(minutes=20)


class SharedClock:
    """Simulated time every member agrees on: ``START + (wall - T0) * speedup``."""

    def __init__(self, t0: float, speedup: float) -> None:
        self.t0, self.speedup = t0, speedup

    def now(self) -> datetime:
        return START + timedelta(seconds=(time.time() - self.t0) * self.speedup)


class LockedFileCloud:
    capabilities = frozenset({"absolute_count"})

    def __init__(self, directory: Path, member: str) -> None:
        self.dir, self.member = directory, member
        self.path = directory / "cloud.json"

    @contextmanager
    def _locked(self, write: bool = True) -> Iterator[dict]:
        with open(self.dir / "cloud.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = (
                json.loads(self.path.read_text())
                if self.path.exists()
                else {"groups": {}, "applied": []}
            )
            yield state
            if not write:
                return
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.path)

    def ensure(self, name: str, size: int) -> None:
        with self._locked(write=False) as state:
            known = name in state["groups"]
        if not known:
            with self._locked() as state:
                state["groups"].setdefault(name, size)

    def status(self, group: GroupSpec) -> GroupStatus:
        with self._locked(write=False) as state:
            return GroupStatus(state["groups"][group.name])

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        return []

    def scale(self, action: ScaleAction) -> None:
        self._hang_if("hang-before")
        with self._locked() as state:
            duplicate = action.action_id in state["applied"]
            if not duplicate:
                state["groups"][action.group] = action.target
                state["applied"].append(action.action_id)
            with open(self.dir / "calls.jsonl", "a") as log:
                log.write(
                    json.dumps(
                        {
                            "member": self.member,
                            "wall": time.time(),
                            "id": action.action_id,
                            "group": action.group,
                            "current": action.current,
                            "target": action.target,
                            "duplicate": duplicate,
                        }
                    )
                    + "\n"
                )
        self._hang_if("hang-after")

    def _hang_if(self, name: str) -> None:
        """While ``<name>-<member>`` exists, this member's ``scale`` never returns
        (before or after applying): it is caught in the middle of an action."""
        if (self.dir / f"{name}-{self.member}").exists():
            (self.dir / f"hung-{self.member}").touch()
            while True:
                time.sleep(1)


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
        self.cloud = LockedFileCloud(
            Path(os.environ["FAKE_CLOUD_DIR"]), os.environ.get("FAKE_MEMBER", "?")
        )

    def cloud_for(self, group: GroupConfig) -> LockedFileCloud:
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
