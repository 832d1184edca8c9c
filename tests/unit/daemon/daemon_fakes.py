"""Fakes for the daemon's tests, passed in (never patched in)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.config import Config, GroupConfig, parse_config
from autoscaler.model import CloudError, MetricWindow, ScaleAction, SourceError
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, now: datetime = T0) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t

    def advance(self, d: timedelta) -> None:
        self.t += d


class ControlledSource:
    """A metric source whose behaviour a test switches: ok, down, slow or garbage."""

    def __init__(self, load: float) -> None:
        self.load = load
        self.mode = "ok"
        self.secret_in_error = ""
        self.calls = 0

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        self.calls += 1
        n = int(span / step)
        if self.mode == "down":
            raise SourceError(f"connection refused by https://prom.example{self.secret_in_error}")
        if self.mode == "slow":
            time.sleep(2.0)
        values = np.full(n, float(self.load))
        if self.mode == "garbage":
            values[-5:] = [-1.0, np.inf, -7.0, np.nan, -np.inf]
        return MetricWindow(end, step, values)

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        raise NotImplementedError


class FlakyCloud(SimCloud):
    """A simulated cloud whose ``scale`` fails while ``failures`` is positive."""

    def __init__(self) -> None:
        super().__init__(BootDelay("fixed", timedelta(0)))
        self.failures = 0
        self.retry_after: float | None = None
        self.scale_calls: list[str] = []

    def scale(self, action: ScaleAction) -> None:
        self.scale_calls.append(action.action_id)
        if self.failures > 0:
            self.failures -= 1
            raise CloudError("503 Service Unavailable", retry_after=self.retry_after)
        super().scale(action)


class FakeWorld:
    def __init__(self, sizes: dict[str, int], loads: dict[str, float]) -> None:
        self.clock = ManualClock()
        self.cloud = FlakyCloud()
        self.sources = {name: ControlledSource(load) for name, load in loads.items()}
        self.sizes = sizes

    def cloud_for(self, group: GroupConfig) -> FlakyCloud:
        if group.name not in self.cloud.groups:
            self.cloud.create_group(group.name, self.sizes.get(group.name, 1), self.clock.now())
        return self.cloud

    def source_for(self, group: GroupConfig) -> ControlledSource:
        return self.sources.setdefault(group.name, ControlledSource(100.0))

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        self.cloud.advance(now)


class NullScheduler:
    """Stands in for apscheduler where a test runs the jobs itself."""

    def add_job(self, *a: object, **k: object) -> None:
        return None

    def get_job(self, job_id: str) -> None:
        return None


def group(name: str, **kw: object) -> dict:
    base = {
        "name": name,
        "min_size": 1,
        "max_size": 20,
        "capacity_per_instance": 100,
        "cooldown_up": "0s",
        "cooldown_down": "0s",
        "policies": [{"kind": "target", "target": 0.5, "stabilization_down": "0s"}],
    }
    base.update(kw)
    return base


def config(*groups: dict, **daemon: object) -> Config:
    return parse_config({"groups": list(groups), "daemon": {"not_ready_after": 3, **daemon}})


class HangingCloud(FlakyCloud):
    """A simulated cloud whose ``scale`` (or, with ``hang_status``, ``status``) blocks
    until ``release`` is set: a cloud API that never answers."""

    def __init__(self, *, hang_status: bool = False) -> None:
        super().__init__()
        import threading

        self.release = threading.Event()
        self.entered = threading.Event()
        self.hang_status = hang_status
        self.hang = True

    def status(self, group):  # type: ignore[no-untyped-def]
        if self.hang and self.hang_status:
            self.entered.set()
            self.release.wait(10)
        return super().status(group)

    def scale(self, action: ScaleAction) -> None:
        if self.hang and not self.hang_status:
            self.entered.set()
            self.release.wait(10)
        super().scale(action)


class StatusDownCloud(FlakyCloud):
    """A simulated cloud whose ``status`` raises ``CloudError`` while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def status(self, group):  # type: ignore[no-untyped-def]
        if self.down:
            raise CloudError("nova: 500 Internal Server Error")
        return super().status(group)


class FullDiskModelStore:
    """A model store on a full disk: every save fails as ``ModelStore.save`` does."""

    def __init__(self) -> None:
        self.saves = 0

    def current(self, name: str) -> None:
        return None

    def save(self, name: str, model: object, *, trained: object = None) -> None:
        from autoscaler.forecasters.store import ModelStoreError

        self.saves += 1
        raise ModelStoreError(
            f"models/{name}/v000001: cannot save: [Errno 28] No space left on device"
        )
