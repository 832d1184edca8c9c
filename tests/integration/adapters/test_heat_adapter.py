"""HeatAdapter through real openstacksdk and real Keystone against the fake Heat."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.heat_adapter import HeatAdapter, HeatGroup
from autoscaler.model import CloudError, GroupSpec, ScaleAction
from tests.fakes.openstack_fake import Fault
from tests.integration.adapters.conftest import OpenStackCloud

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEB = GroupSpec(name="web", min_size=0, max_size=10, capacity_per_instance=100)


def heat(
    cloud: OpenStackCloud, mode: str = "update", slept: list[float] | None = None
) -> HeatAdapter:
    sleeps = slept if slept is not None else []
    return HeatAdapter(
        cloud.shared,
        {"web": HeatGroup(stack="web-stack", mode=mode)},  # type: ignore[arg-type]
        backoff=Backoff(attempts=3, base=0.01, sleep=sleeps.append, rng=random.Random(0)),
    )


def action(current: int, target: int, aid: str = "a1") -> ScaleAction:
    return ScaleAction("web", aid, T0, current, target, "test")


def test_stack_update_sets_desired_capacity_and_reports_in_flight(cloud: OpenStackCloud) -> None:
    stack = cloud.fake.add_stack("web-stack", 2)
    h = heat(cloud)
    assert h.capabilities == frozenset({"absolute_count"})
    st = h.status(WEB)
    assert (st.ready, st.in_flight) == (2, False)
    assert len(h.fleet(WEB)) == 2
    cloud.fake.update_polls = 2
    h.scale(action(2, 5))
    assert stack["parameters"]["desired_capacity"] == "5"
    assert h.status(WEB).in_flight  # UPDATE_IN_PROGRESS
    with pytest.raises(CloudError, match="UPDATE_IN_PROGRESS") as exc:
        h.scale(action(2, 6, "a2"))
    assert exc.value.retry_after is not None
    st = h.status(WEB)
    assert (st.ready, st.in_flight) == (5, False)
    assert {i.id for i in h.fleet(WEB)} == {m["id"] for m in stack["members"]}
    h.scale(action(2, 5))  # a replay: the parameter is already 5, nothing is sent
    assert cloud.fake.calls("PATCH", r"/stacks/") == 1


def test_policy_signal_moves_by_one_step_and_is_not_repeated(cloud: OpenStackCloud) -> None:
    stack = cloud.fake.add_stack("web-stack", 2, up=2, down=-1)
    h = heat(cloud, mode="signal")
    assert h.capabilities == frozenset({"relative"})
    h.scale(action(2, 4))
    assert stack["size"] == 4
    h.scale(action(2, 4))  # replayed: the size moved on from 2, so no second signal
    assert stack["size"] == 4 and cloud.fake.calls("POST", r"/signal$") == 1
    h.scale(action(4, 3, "a2"))
    assert stack["size"] == 3


def test_a_deleted_stack_is_a_group_gone_error(cloud: OpenStackCloud) -> None:
    with pytest.raises(CloudError, match=r"read stack web-stack: not found \(HTTP 404\)"):
        heat(cloud).status(WEB)


def test_conflict_and_server_errors(cloud: OpenStackCloud) -> None:
    cloud.fake.add_stack("web-stack", 2)
    cloud.fake.inject(Fault("PATCH", r"/stacks/", status=409, headers={"Retry-After": "45"}))
    with pytest.raises(CloudError, match=r"conflict \(HTTP 409\)") as exc:
        heat(cloud).scale(action(2, 3))
    assert exc.value.retry_after == 45.0
    slept: list[float] = []
    cloud.fake.inject(Fault("PATCH", r"/stacks/", status=502, times=2))
    heat(cloud, slept=slept).scale(action(2, 3))
    assert len(slept) == 2 and cloud.fake.stacks
    assert next(iter(cloud.fake.stacks.values()))["parameters"]["desired_capacity"] == "3"


def test_an_unknown_group_is_refused(cloud: OpenStackCloud) -> None:
    other = GroupSpec(name="db", min_size=0, max_size=1, capacity_per_instance=1)
    with pytest.raises(CloudError, match="not a Heat group"):
        heat(cloud).status(other)
