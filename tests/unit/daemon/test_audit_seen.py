"""The audit log records what the policies saw (``TickOutcome.seen``), not the raw window."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.daemon.state import SqliteStateStore
from autoscaler.engine import Engine, GroupBinding
from autoscaler.model import (
    Decision,
    Forecast,
    GroupSpec,
    GroupStatus,
    MetricWindow,
    PolicyContext,
    ScaleAction,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)
SPEC = GroupSpec(name="web", min_size=1, max_size=20, capacity_per_instance=100.0)


@dataclass
class UtilisationSource:
    """CPU utilisation (0..1) with a garbage sample in the middle."""

    values: tuple[float, ...] = (0.5, -math.inf, 0.6)

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        return MetricWindow(end, step, np.array(self.values))

    def query(self, *args: object) -> object:
        raise NotImplementedError


@dataclass
class Cloud:
    capabilities: frozenset[str] = frozenset({"absolute_count"})
    actions: list[ScaleAction] = field(default_factory=list)

    def status(self, group: GroupSpec) -> GroupStatus:
        return GroupStatus(5, 0, False)

    def fleet(self, group: GroupSpec) -> list:
        return []

    def scale(self, action: ScaleAction) -> None:
        self.actions.append(action)


class Forecasts:
    def forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast:
        index = pd.date_range(now + STEP, periods=3, freq=STEP)
        return Forecast(index, np.full(3, 300.0), model="fake-arima")


@dataclass
class Watcher:
    """A policy that keeps the window it was given."""

    seen: list[MetricWindow] = field(default_factory=list)
    name: str = "watcher"

    def decide(self, ctx: PolicyContext) -> Decision:
        self.seen.append(ctx.load)
        return Decision(ctx.status.total, "hold", self.name)


def test_the_outcome_and_the_audit_record_carry_the_cleaned_window(tmp_path):
    watcher = Watcher()
    binding = GroupBinding(
        SPEC,
        [watcher],
        UtilisationSource(),
        Cloud(),
        forecaster=Forecasts(),
        utilization_metric=True,
    )
    store = SqliteStateStore.in_dir(tmp_path)
    (out,) = Engine([binding], store).tick(NOW)
    seen = out.seen
    assert seen is not None
    # load = utilisation x 5 ready x 100 per instance; -inf became a gap
    assert (seen.count, seen.gaps, seen.last, seen.mean) == (3, 1, 300.0, 275.0)
    assert (seen.end, seen.step, seen.forecast_model) == (NOW, STEP, "fake-arima")
    (policy_window,) = watcher.seen
    assert policy_window.last == seen.last and int(np.isnan(policy_window.values).sum()) == 1
    (rec,) = store.decisions("web", 1)
    assert rec["inputs"] == {
        "samples": 3,
        "gaps": 1,
        "last": 300.0,
        "mean": 275.0,
        "end": "2026-03-02T12:00:00Z",
        "step_s": 60.0,
        "forecast_model": "fake-arima",
    }
    store.close()
