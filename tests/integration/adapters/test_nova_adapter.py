"""NovaAdapter through real openstacksdk and real Keystone against the fake Nova."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.nova_adapter import NovaAdapter, NovaSettings, server_name
from autoscaler.model import CloudError, GroupSpec, Placement, ScaleAction
from tests.fakes.openstack_fake import Fault
from tests.integration.adapters.conftest import OpenStackCloud

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEB = GroupSpec(name="web", min_size=0, max_size=10, capacity_per_instance=100, flavor="m1.small")


def adapter(cloud: OpenStackCloud, slept: list[float] | None = None, **settings: object) -> NovaAdapter:
    sleeps = slept if slept is not None else []
    return NovaAdapter(
        cloud.connect(),
        NovaSettings(image="img-1", network="net-1", **settings),  # type: ignore[arg-type]
        {"web": "m1.small"},
        backoff=Backoff(attempts=3, base=0.01, sleep=sleeps.append, rng=random.Random(0)),
        sleep=sleeps.append,
    )


def action(current: int, target: int, aid: str = "web-1", **kw: object) -> ScaleAction:
    return ScaleAction("web", aid, T0, current, target, "test", **kw)  # type: ignore[arg-type]


def test_scale_out_boots_tagged_servers_and_waits_for_active(cloud: OpenStackCloud) -> None:
    nova = adapter(cloud, key_name="ops", user_data="#!/bin/sh\necho hi\n",
                   server_group_policy="anti-affinity")  # fmt: skip
    assert nova.status(WEB).total == 0
    nova.scale(action(0, 2, placements=(Placement(zone="az1"), Placement(zone="az2"))))
    st = nova.status(WEB)
    assert (st.ready, st.booting, st.failed) == (2, 0, 0)
    servers = sorted(cloud.fake.servers.values(), key=lambda s: s["seq"])
    assert [s["name"] for s in servers] == [server_name("web", "web-1", i) for i in range(2)]
    assert [s["az"] for s in servers] == ["az1", "az2"]
    assert all(s["metadata"]["autoscaler-group"] == "web" for s in servers)
    assert servers[0]["user_data"] == "IyEvYmluL3NoCmVjaG8gaGkK"
    assert servers[0]["networks"] == [{"uuid": "net-1"}] and servers[0]["key_name"] == "ops"
    (sg,) = cloud.fake.server_groups.values()
    assert sg["policy"] == "anti-affinity" and sorted(sg["members"]) == sorted(
        s["id"] for s in servers
    )
    assert any(mv.startswith("compute 2.") for mv in cloud.fake.microversions)
    fleet = nova.fleet(WEB)
    assert {i.zone for i in fleet} == {"az1", "az2"} and all(i.ready for i in fleet)
