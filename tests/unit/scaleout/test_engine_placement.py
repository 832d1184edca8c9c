"""The engine asks a placement policy where new instances go, on a cloud with hosts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.engine import Engine, GroupBinding
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import Decision, GroupSpec, MetricWindow, Placement, ScaleAction
from autoscaler.placement.demand import instance_demand, with_predictions
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest
from autoscaler.placement.policies import (
    Demand,
    InterferenceAwarePlacement,
    PackPlacement,
    SpreadPlacement,
)
from autoscaler.placement.victims import VictimPolicy
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
SMALL = Flavor("small", 1, 2048)


class Wants:
    """A policy that always votes for ``n`` instances."""

    name = "wants"

    def __init__(self, n: int) -> None:
        self.n = n

    def decide(self, ctx) -> Decision:
        return Decision(self.n, f"wants {self.n}", self.name)


class Steady:
    """A metric source whose window holds ``values`` (the group's load per second)."""

    def __init__(self, values: list[float]) -> None:
        self.values = np.asarray(values, dtype=float)

    def window(self, query, end, span, step) -> MetricWindow:
        return MetricWindow(end, step, self.values)


def spec(name: str = "web") -> GroupSpec:
    return GroupSpec(name, 0, 50, 100.0, cooldown_up=timedelta(0), cooldown_down=timedelta(0))


def tick(cloud: SimCloud, binding: GroupBinding, now: datetime = T0) -> ScaleAction:
    outcome = Engine([binding], MemoryStateStore()).tick(now)[0]
    assert outcome.ok and outcome.action is not None
    return outcome.action


def cloud_with(hosts: list[Host], **groups: int) -> SimCloud:
    cloud = SimCloud(BootDelay("fixed", MIN), hosts=hosts)
    for name, size in groups.items():
        cloud.create_group(name, size, T0, SMALL)
    return cloud


def test_spread_puts_new_instances_on_distinct_hosts_and_zones() -> None:
    hosts = [Host(f"h{k}", f"az{2 - k % 2}", 4) for k in range(1, 5)]
    cloud = cloud_with(hosts, web=0)
    b = GroupBinding(spec(), [Wants(4)], Steady([100.0]), cloud, placement=SpreadPlacement())
    b.flavor = SMALL
    action = tick(cloud, b)
    assert len(action.placements) == 4
    assert len({p.host for p in action.placements}) == 4
    assert [p.zone for p in action.placements] == ["az1", "az2", "az1", "az2"]
    assert [(i.host, i.zone) for i in cloud.fleet(spec())] == [
        (p.host, p.zone) for p in action.placements
    ]
    # two more: still one per host until every host has one more
    b.policies = [Wants(6)]
    action = tick(cloud, b, T0 + MIN)
    first = {p.host for p in action.placements}
    assert len(first) == 2 and {p.zone for p in action.placements} == {"az1", "az2"}


def test_pack_fills_hosts_before_opening_new_ones() -> None:
    hosts = [Host(f"h{k}", "az1", 2) for k in range(1, 5)]
    cloud = cloud_with(hosts, web=0)
    b = GroupBinding(spec(), [Wants(3)], Steady([100.0]), cloud, placement=PackPlacement())
    b.flavor = SMALL
    action = tick(cloud, b)
    assert [p.host for p in action.placements] == ["h1", "h1", "h2"]
    assert cloud.hosts_used() == 2
    b.policies = [Wants(4)]
    assert [p.host for p in tick(cloud, b, T0 + MIN).placements] == ["h2"]
    assert cloud.hosts_used() == 2


def test_without_a_policy_or_without_hosts_placements_stay_empty() -> None:
    cloud = cloud_with([Host("h1"), Host("h2")], web=0)
    action = tick(cloud, GroupBinding(spec(), [Wants(2)], Steady([1.0]), cloud))
    assert action.placements == ()
    assert cloud.counts("web") == (0, 2)  # the cloud placed them itself
    bare = SimCloud(BootDelay("fixed", MIN))
    bare.create_group("web", 0, T0)
    b = GroupBinding(spec(), [Wants(2)], Steady([1.0]), bare, placement=PackPlacement())
    assert tick(bare, b).placements == ()
    # scale-in never carries placements
    b = GroupBinding(spec(), [Wants(1)], Steady([1.0]), cloud, placement=PackPlacement())
    assert tick(cloud, b, T0 + MIN).placements == ()


def test_failed_placement_is_counted_as_a_failed_boot() -> None:
    cloud = cloud_with([Host("h1", vcpus=2)], web=0)
    b = GroupBinding(spec(), [Wants(3)], Steady([1.0]), cloud, placement=PackPlacement())
    b.flavor = SMALL
    action = tick(cloud, b)
    assert action.placements == (Placement("h1", "az1"), Placement("h1", "az1"), Placement())
    assert cloud.counts("web") == (0, 2)
    assert cloud.placement_failures("web") == 1 and cloud.status(spec()).failed == 1


def test_frees_host_victims_empty_a_host() -> None:
    cloud = cloud_with([Host("a", vcpus=4), Host("b", vcpus=4)], web=0)
    places = (Placement("a"), Placement("b"), Placement("a"), Placement("a"))
    cloud.scale(ScaleAction("web", "seed", T0, 0, 4, "test", (), places))
    cloud.advance(T0 + MIN)
    b = GroupBinding(spec(), [Wants(3)], Steady([1.0]), cloud, victims=VictimPolicy("frees_host"))
    action = tick(cloud, b, T0 + 2 * MIN)
    assert action.victims == ("web-2",)
    assert [v.vms for v in cloud.host_views()] == [("web-1", "web-3", "web-4"), ()]
    assert cloud.hosts_used() == 1


def test_interference_aware_avoids_the_host_of_a_busy_group() -> None:
    # "batch" runs hot on h1 (each instance near its full vCPU), "web" is light on h2
    hosts = [Host("h1", "az1", 2, cpu_allocation_ratio=4.0), Host("h2", "az1", 2, 65536, 0, 4.0)]
    cloud = SimCloud(BootDelay("fixed", MIN), hosts=hosts)
    cloud.create_group("batch", 0, T0, SMALL)
    cloud.create_group("web", 0, T0, SMALL)
    cloud.scale(ScaleAction("batch", "b", T0, 0, 2, "t", (), (Placement("h1"),) * 2))
    cloud.scale(ScaleAction("web", "w", T0, 0, 1, "t", (), (Placement("h2"),)))
    cloud.advance(T0 + MIN)
    policy = InterferenceAwarePlacement(threshold=0.8)
    batch = GroupBinding(spec("batch"), [Wants(2)], Steady([190.0, 190.0]), cloud)
    web = GroupBinding(spec("web"), [Wants(3)], Steady([20.0, 20.0]), cloud, placement=policy)
    batch.flavor = web.flavor = SMALL
    # packing by allocation alone would choose h1 (the least free vCPU allocation)
    assert PackPlacement().choose_host(_request(), cloud.host_views(), Demand()) == 0
    engine = Engine([batch, web], MemoryStateStore())
    outcomes = engine.tick(T0 + MIN)
    assert engine.demands() == {"batch": Demand(0.95, 0.0), "web": Demand(0.2, 0.0)}
    action = outcomes[1].action
    assert action is not None
    # h1 is predicted at 1.9 of 2 vCPUs; h2 takes both new web instances (0.6 of 2)
    assert [p.host for p in action.placements] == ["h2", "h2"]


def _request() -> VmRequest:
    return VmRequest("x", SMALL, "web")


@pytest.mark.parametrize(
    ("load", "ready", "want"),
    [
        ([100.0, 300.0], 2, Demand(2.0, 1.0)),  # per instance 1 and 3 vCPUs of 2: mean capped
        ([50.0, np.nan, 50.0], 1, Demand(1.0, 0.0)),  # gaps ignored
        ([40.0], 0, Demand(0.8, 0.0)),  # no ready instance: as if one
    ],
)
def test_instance_demand(load: list[float], ready: int, want: Demand) -> None:
    assert instance_demand(np.asarray(load), ready, 100.0, 2) == want


def test_instance_demand_of_an_empty_window_is_unknown() -> None:
    assert instance_demand(np.array([np.nan]), 3, 100.0, 2) is None


def test_host_predictions_add_up_the_members_groups() -> None:
    view = HostView(Host("h"), 3, 0, 0, ("a1", "b1", "a2"), ("a", "b", "a"))
    (got,) = with_predictions([view], {"a": Demand(0.5, 0.1), "c": Demand(9.0, 9.0)})
    assert got.predicted_mean == pytest.approx(1.0) and got.predicted_var == pytest.approx(0.2)
    assert (got.vms, got.vcpus_used) == (view.vms, 3)
