"""Engine guards and the per-group pipeline, with fakes passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.engine import Engine, GroupBinding
from autoscaler.guards import apply_guards, combine_votes
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import (
    CloudError,
    Decision,
    GroupSpec,
    GroupStatus,
    MetricWindow,
    PolicyContext,
    ScaleAction,
    SourceError,
)

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SPEC = GroupSpec(
    name="g",
    min_size=2,
    max_size=10,
    capacity_per_instance=100.0,
    cooldown_up=timedelta(minutes=3),
    cooldown_down=timedelta(minutes=5),
    max_step_up=3,
    max_step_down=2,
)


def guard(
    proposed: int,
    current: int = 5,
    *,
    data: str | None = None,
    in_flight: bool = False,
    last_up: datetime | None = None,
    last_any: datetime | None = None,
) -> tuple[int, str | None]:
    r = apply_guards(
        now=NOW,
        spec=SPEC,
        status=GroupStatus(current, 0, in_flight),
        proposed=proposed,
        data_problem=data,
        last_up=last_up,
        last_any=last_any,
    )
    return r.desired, r.guard


@pytest.mark.parametrize(
    ("kwargs", "want"),
    [
        ({"proposed": 6}, (6, None)),
        ({"proposed": 20}, (8, "max_step_up")),
        ({"proposed": 0}, (3, "max_step_down")),
        ({"proposed": 1, "current": 2}, (2, "min_size")),
        ({"proposed": 12, "current": 10}, (10, "max_size")),
        ({"proposed": 3, "data": "stale_data"}, (5, "stale_data")),
        (
            {"proposed": 7, "data": "missing_data"},
            (7, None),
        ),  # scale-out on missing data is allowed
        ({"proposed": 7, "in_flight": True}, (5, "in_flight")),
        ({"proposed": 7, "last_up": NOW - 2 * MIN}, (5, "cooldown_up")),
        ({"proposed": 7, "last_up": NOW - 3 * MIN}, (7, None)),
        ({"proposed": 4, "last_any": NOW - 4 * MIN}, (5, "cooldown_down")),
        ({"proposed": 4, "last_up": NOW - 1 * MIN, "last_any": NOW - 6 * MIN}, (4, None)),
        ({"proposed": 1, "current": 1, "last_up": NOW}, (2, "min_size")),  # bounds beat cooldowns
        ({"proposed": 14, "current": 12, "data": "missing_data"}, (10, "max_size")),
    ],
)
def test_guards(kwargs: dict, want: tuple[int, str | None]) -> None:
    assert guard(**kwargs) == want


@pytest.mark.parametrize(
    ("votes", "current", "want"),
    [([7, 5, 3], 5, 7), ([5, 3], 5, 5), ([3, 4], 5, 4), ([], 5, 5), ([8, 9], 5, 9)],
)
def test_safest_vote_wins(votes: list[int], current: int, want: int) -> None:
    assert combine_votes(votes, current) == want


# ---------------------------------------------------------------- the pipeline with fakes


@dataclass
class FakeSource:
    values: list[float]
    fail: bool = False

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        if self.fail:
            raise SourceError("connection refused")
        return MetricWindow(end, step, np.array(self.values, dtype=float))

    def query(self, *a: object) -> object:
        raise NotImplementedError


@dataclass
class FakeCloud:
    ready: int = 5
    fail_scale: bool = False
    in_flight: bool = False
    actions: list[ScaleAction] = field(default_factory=list)
    capabilities: frozenset[str] = frozenset({"absolute_count"})

    def status(self, group: GroupSpec) -> GroupStatus:
        return GroupStatus(self.ready, 0, self.in_flight)

    def fleet(self, group: GroupSpec) -> list:
        return []

    def scale(self, action: ScaleAction) -> None:
        if self.fail_scale:
            raise CloudError("503 Service Unavailable", retry_after=30)
        self.actions.append(action)
        self.ready = action.target


@dataclass(frozen=True)
class Fixed:
    want: int
    name: str = "fixed"

    def decide(self, ctx: PolicyContext) -> Decision:
        return Decision(self.want, "fixed", self.name)


class Broken:
    name = "broken"

    def decide(self, ctx: PolicyContext) -> Decision:
        raise ZeroDivisionError("boom")


def engine_for(
    policies: list, source: FakeSource, cloud: FakeCloud, spec: GroupSpec = SPEC
) -> tuple[Engine, MemoryStateStore]:
    store = MemoryStateStore(keep_audit=True)
    return Engine([GroupBinding(spec, policies, source, cloud)], store), store


def test_scale_out_is_journaled_and_sets_cooldown() -> None:
    cloud = FakeCloud()
    eng, store = engine_for([Fixed(7)], FakeSource([500.0]), cloud)
    (out,) = eng.tick(NOW)
    assert out.action is not None and out.action.target == 7 and out.action.delta == 2
    assert [a.target for a in cloud.actions] == [7]
    assert store.journal[out.action.action_id][1] == "done"
    assert store.last_action("g", "up") == NOW
    # One minute later the cooldown holds a further scale-out.
    eng.groups[0].policies = [Fixed(9)]
    (out2,) = eng.tick(NOW + MIN)
    assert out2.action is None and out2.guard == "cooldown_up"


def test_source_down_never_scales_in_but_counts_the_error() -> None:
    cloud = FakeCloud()
    eng, _ = engine_for([Fixed(3)], FakeSource([], fail=True), cloud)
    (out,) = eng.tick(NOW)
    assert out.desired == 5 and out.action is None
    assert out.stage == "source" and "connection refused" in (out.error or "")
    assert eng.errors == {"source": 1}
    assert cloud.actions == []


@pytest.mark.parametrize(
    ("values", "problem"),
    [([], "missing_data"), ([np.nan, np.nan], "missing_data"), ([np.inf, -5.0], "missing_data")],
)
def test_missing_or_garbage_data_blocks_scale_in(values: list[float], problem: str) -> None:
    cloud = FakeCloud()
    eng, _ = engine_for([Fixed(3)], FakeSource(values), cloud)
    (out,) = eng.tick(NOW)
    assert out.desired == 5 and problem in (out.guard or "")
    assert cloud.actions == []


def test_stale_data_blocks_scale_in() -> None:
    spec = GroupSpec(
        name="g",
        min_size=1,
        max_size=10,
        capacity_per_instance=100.0,
        stale_after=timedelta(minutes=5),
    )
    cloud = FakeCloud()
    # The newest finite value is 10 steps old.
    eng, _ = engine_for([Fixed(3)], FakeSource([100.0] + [np.nan] * 10), cloud, spec)
    (out,) = eng.tick(NOW)
    assert out.guard == "stale_data" and cloud.actions == []


def test_broken_policy_votes_hold_and_others_still_count() -> None:
    cloud = FakeCloud()
    eng, _ = engine_for([Broken(), Fixed(3)], FakeSource([100.0]), cloud)
    (out,) = eng.tick(NOW)
    assert out.combined == 5  # the broken policy's hold beats the scale-in
    assert "ZeroDivisionError" in out.votes[0].reason


def test_failed_action_is_recorded_and_sets_no_cooldown() -> None:
    cloud = FakeCloud(fail_scale=True)
    eng, store = engine_for([Fixed(8)], FakeSource([100.0]), cloud)
    (out,) = eng.tick(NOW)
    assert out.stage == "act" and "503" in (out.error or "")
    assert out.action is not None
    assert store.journal[out.action.action_id][1].startswith("failed")
    assert store.last_action("g", "up") is None


def test_dry_run_decides_but_never_acts() -> None:
    spec = GroupSpec(name="g", min_size=1, max_size=10, capacity_per_instance=100.0, dry_run=True)
    cloud = FakeCloud()
    eng, _ = engine_for([Fixed(8)], FakeSource([100.0]), cloud, spec)
    (out,) = eng.tick(NOW)
    assert out.desired == 8 and out.guard == "dry_run" and out.action is None
    assert cloud.actions == []


def test_one_bad_group_never_stops_the_others() -> None:
    good_cloud, bad_cloud = FakeCloud(), FakeCloud()

    class Exploding(FakeCloud):
        def status(self, group: GroupSpec) -> GroupStatus:
            raise RuntimeError("unexpected")

    spec_b = GroupSpec(name="b", min_size=1, max_size=10, capacity_per_instance=100.0)
    store = MemoryStateStore()
    eng = Engine(
        [
            GroupBinding(spec_b, [Fixed(8)], FakeSource([1.0]), Exploding()),
            GroupBinding(SPEC, [Fixed(7)], FakeSource([1.0]), good_cloud),
        ],
        store,
    )
    outs = eng.tick(NOW)
    assert outs[0].error is not None and outs[0].stage == "engine"
    assert outs[1].action is not None and good_cloud.ready == 7
    assert bad_cloud.actions == []


def test_policy_memory_round_trips() -> None:
    @dataclass(frozen=True)
    class Counting:
        name: str = "counting"

        def decide(self, ctx: PolicyContext) -> Decision:
            n = (ctx.memory or 0) + 1
            return Decision(ctx.status.total, f"call {n}", self.name, memory=n)

    eng, store = engine_for([Counting()], FakeSource([1.0]), FakeCloud())
    for i in range(3):
        eng.tick(NOW + i * MIN)
    assert store.policy_memory("g", "counting") == 3


def test_a_cooldown_stamped_ahead_of_the_clock_holds_no_longer_than_the_cooldown() -> None:
    # A restarted simulated clock (or a wall clock stepped back) finds the last scale-out
    # recorded five hours ahead; before, the group held for those five hours.
    cloud = FakeCloud()
    eng, store = engine_for([Fixed(7)], FakeSource([500.0]), cloud)
    ahead = NOW + timedelta(hours=5)
    store.finish_action(ScaleAction("g", "a0", ahead, 5, 6, "before the restart"), "done")
    assert store.last_action("g", "up") == ahead
    (held,) = eng.tick(NOW)
    assert held.action is None and held.guard == "cooldown_up"  # fail closed at first
    (still,) = eng.tick(NOW + SPEC.cooldown_up - MIN)
    assert still.action is None and still.guard == "cooldown_up"
    (acts,) = eng.tick(NOW + SPEC.cooldown_up)
    assert acts.action is not None and acts.action.target == 7
