"""A test world for daemon subprocesses, passed in by ``run_with_world.py``.

The cloud keeps its state in a JSON file (``$FAKE_CLOUD_DIR/cloud.json``) so that it
outlives a daemon killed with ``kill -9``, as a real cloud would. While the file
``$FAKE_CLOUD_DIR/block`` exists, ``scale`` applies the action, writes ``blocked``
and then never returns: the daemon is caught in the middle of an action. While
``slow`` exists, ``scale`` takes two seconds after applying (writing ``in_scale``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from autoscaler.config import Config, GroupConfig
from autoscaler.daemon.clock import SimulatedClock
from autoscaler.model import GroupSpec, GroupStatus, InstanceInfo, MetricWindow, ScaleAction

START = datetime(2026, 1, 5, tzinfo=UTC)


class FileCloud:
    capabilities = frozenset({"absolute_count"})

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.path = directory / "cloud.json"

    def load(self) -> dict:
        if not self.path.exists():
            return {"groups": {}, "applied": []}
        return json.loads(self.path.read_text())

    def _save(self, state: dict) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path)

    def ensure(self, name: str, size: int) -> None:
        state = self.load()
        if name not in state["groups"]:
            state["groups"][name] = size
            self._save(state)

    def status(self, group: GroupSpec) -> GroupStatus:
        return GroupStatus(self.load()["groups"][group.name])

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        return []

    def scale(self, action: ScaleAction) -> None:
        state = self.load()
        if action.action_id in state["applied"]:
            return
        state["groups"][action.group] = action.target
        state["applied"].append(action.action_id)
        self._save(state)
        if (self.dir / "slow").exists():  # a slow API call: the tick is mid-action
            (self.dir / "in_scale").write_text(action.action_id)
            time.sleep(2)
        if (self.dir / "block").exists():
            (self.dir / "blocked").write_text(action.action_id)
            while True:
                time.sleep(1)


class ConstantSource:
    def __init__(self, load: float) -> None:
        self.load = load

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        return MetricWindow(end, step, np.full(int(span / step), self.load))

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        raise NotImplementedError


class FileWorld:
    def __init__(self, config: Config) -> None:
        self.clock = SimulatedClock(START, config.daemon.speedup)
        self.cloud = FileCloud(Path(os.environ["FAKE_CLOUD_DIR"]))
        self.load = float(os.environ.get("FAKE_LOAD", "450"))

    def cloud_for(self, group: GroupConfig) -> FileCloud:
        self.cloud.ensure(group.name, group.min_size)
        return self.cloud

    def source_for(self, group: GroupConfig) -> ConstantSource:
        return ConstantSource(self.load)

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        return None


def build(config: Config) -> FileWorld:
    return FileWorld(config)
