"""SenlinAdapter through real openstacksdk and real Keystone against the fake Senlin."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.senlin_adapter import SenlinAdapter, SenlinGroup
from autoscaler.model import CloudError, GroupSpec, ScaleAction
from tests.fakes.openstack_fake import Fault
from tests.integration.adapters.conftest import OpenStackCloud

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEB = GroupSpec(name="web", min_size=0, max_size=10, capacity_per_instance=100)


def senlin(
    cloud: OpenStackCloud, adjustment: str = "exact", clock: list[float] | None = None
) -> SenlinAdapter:
    t = clock if clock is not None else [0.0]
    return SenlinAdapter(
        cloud.shared,
        {"web": SenlinGroup("web-cluster", adjustment)},  # type: ignore[arg-type]
        action_timeout=timedelta(seconds=60),
        backoff=Backoff(attempts=3, base=0.01, sleep=lambda s: None, rng=random.Random(0)),
        sleep=lambda s: t.__setitem__(0, t[0] + s),
        monotonic=lambda: t[0],
    )


def action(
    current: int, target: int, aid: str = "a1", victims: tuple[str, ...] = ()
) -> ScaleAction:
    return ScaleAction("web", aid, T0, current, target, "test", victims=victims)


def test_exact_resize_waits_for_the_action(cloud: OpenStackCloud) -> None:
    cluster = cloud.fake.add_cluster("web-cluster", 2)
    cloud.fake.action_polls = 3
    s = senlin(cloud)
    assert s.status(WEB).ready == 2
    s.scale(action(2, 5))
    assert cluster["desired_capacity"] == 5 and len(cluster["nodes"]) == 5
    assert s.status(WEB) == s.status(WEB) and s.status(WEB).ready == 5
    assert any(mv == "clustering 1.10" for mv in cloud.fake.microversions)
    s.scale(action(2, 5))  # replay: already at 5, no new action
    assert cloud.fake.calls("POST", r"/actions$") == 1


def test_change_in_capacity_and_victims(cloud: OpenStackCloud) -> None:
    cluster = cloud.fake.add_cluster("web-cluster", 3)
    s = senlin(cloud, "change")
    assert "relative" in s.capabilities
    s.scale(action(3, 4))
    s.scale(action(3, 4))  # replay: the size moved on, nothing more
    assert cluster["desired_capacity"] == 4
    victim = cluster["nodes"][0]["id"]
    assert victim in {i.id for i in s.fleet(WEB)}
    s.scale(action(4, 3, "a2", victims=(victim,)))
    assert victim not in {n["id"] for n in cluster["nodes"]} and len(cluster["nodes"]) == 3
    s.scale(action(4, 3, "a2", victims=(victim,)))  # replay: the victim is already gone
    assert len(cluster["nodes"]) == 3


def test_busy_cluster_missing_cluster_and_slow_action(cloud: OpenStackCloud) -> None:
    cluster = cloud.fake.add_cluster("web-cluster", 2)
    cluster["status"] = "RESIZING"
    s = senlin(cloud)
    assert s.status(WEB).in_flight
    with pytest.raises(CloudError, match="is RESIZING") as exc:
        s.scale(action(2, 3))
    assert exc.value.retry_after
    cluster["status"] = "ACTIVE"
    cloud.fake.inject(Fault("POST", r"/actions$", status=409, body={"error": {"message": "busy"}}))
    with pytest.raises(CloudError, match=r"conflict \(HTTP 409\)"):
        s.scale(action(2, 3))
    cloud.fake.action_polls = 10_000
    with pytest.raises(CloudError, match="still RUNNING after 0:01:00"):
        s.scale(action(2, 3))
    cloud.fake.clusters.clear()
    with pytest.raises(CloudError, match=r"not found \(HTTP 404\), the group is gone"):
        s.status(WEB)


def test_a_failed_action_is_reported_and_the_cluster_unchanged(cloud: OpenStackCloud) -> None:
    cluster = cloud.fake.add_cluster("web-cluster", 2)
    cloud.fake.fail_actions = "Failed in creating nodes: quota exceeded."
    with pytest.raises(CloudError, match=r"CLUSTER_RESIZE FAILED: Failed in creating nodes"):
        senlin(cloud).scale(action(2, 4))
    assert len(cluster["nodes"]) == 2 and senlin(cloud).status(WEB).in_flight is False
