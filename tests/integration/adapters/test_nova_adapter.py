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


def adapter(
    cloud: OpenStackCloud, slept: list[float] | None = None, **settings: object
) -> NovaAdapter:
    sleeps = slept if slept is not None else []
    return NovaAdapter(
        cloud.shared,
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


def names(cloud: OpenStackCloud) -> list[str]:
    return sorted(s["name"] for s in cloud.fake.servers.values())


def test_scale_in_deletes_the_victims_then_the_newest(cloud: OpenStackCloud) -> None:
    nova = adapter(cloud)
    nova.scale(action(0, 4))
    by_seq = sorted(cloud.fake.servers.values(), key=lambda s: s["seq"])
    oldest, newest = by_seq[0]["id"], by_seq[-1]["id"]
    nova.scale(action(4, 2, aid="web-2", victims=(oldest, "not-in-group")))
    left = set(cloud.fake.servers)
    assert len(left) == 2 and oldest not in left and newest not in left
    assert nova.status(WEB).ready == 2


def test_replaying_a_finished_action_changes_nothing(cloud: OpenStackCloud) -> None:
    nova = adapter(cloud)
    nova.scale(action(0, 3))
    before = names(cloud)
    adapter(cloud).scale(action(0, 3))  # e.g. a restarted daemon replaying its journal
    assert names(cloud) == before and cloud.fake.calls("POST", r"/servers$") == 3


def test_action_killed_halfway_then_replayed_creates_no_duplicate(cloud: OpenStackCloud) -> None:
    # The second create takes effect but its answer is lost, and the process gives up
    # there (one attempt, as if killed); the replay must create only the third server.
    cloud.fake.inject(Fault("POST", r"/servers$", reset_after=True, skip=1))
    killed = NovaAdapter(
        cloud.shared, NovaSettings(image="img-1"), {"web": "m1.small"},
        backoff=Backoff(attempts=1, sleep=lambda s: None), sleep=lambda s: None,
    )  # fmt: skip
    with pytest.raises(CloudError, match="cannot reach the cloud"):
        killed.scale(action(0, 3))
    assert len(cloud.fake.servers) == 2
    adapter(cloud).scale(action(0, 3))
    assert names(cloud) == [server_name("web", "web-1", i) for i in range(3)]
    assert cloud.fake.calls("POST", r"/servers$") == 3


def test_a_lost_answer_is_retried_by_looking_before_creating(cloud: OpenStackCloud) -> None:
    cloud.fake.inject(Fault("POST", r"/servers$", reset_after=True))
    slept: list[float] = []
    adapter(cloud, slept).scale(action(0, 2))
    assert len(cloud.fake.servers) == 2 and cloud.fake.calls("POST", r"/servers$") == 2
    assert slept  # it backed off before the retry


def test_error_servers_are_reported_and_cleaned_up(cloud: OpenStackCloud) -> None:
    cloud.fake.fail_boot.add(server_name("web", "web-1", 1))
    nova = adapter(cloud)
    with pytest.raises(CloudError, match=r"1 server\(s\) went to ERROR.*No valid host"):
        nova.scale(action(0, 2))
    assert names(cloud) == [server_name("web", "web-1", 0)]
    # A server that failed later is counted as failed, then deleted by the next action.
    cloud.fake.fail_boot.add(server_name("web", "web-2", 0))
    cloud.fake.build_polls = 2
    with pytest.raises(CloudError, match="went to ERROR"):
        nova.scale(action(1, 2, aid="web-2"))
    assert nova.status(WEB).ready == 1
    (only,) = cloud.fake.servers.values()
    only["status"] = "ERROR"
    assert nova.status(WEB).failed == 1
    nova.scale(action(0, 1, aid="web-3"))
    assert nova.status(WEB).ready == 1 and nova.status(WEB).failed == 0


def test_boot_timeout_leaves_servers_counted_as_booting(cloud: OpenStackCloud) -> None:
    cloud.fake.build_polls = 10_000
    clock = [0.0]
    nova = NovaAdapter(
        cloud.shared,
        NovaSettings(image="img-1", boot_timeout=timedelta(seconds=30),
                     poll_interval=timedelta(seconds=10)),
        {"web": "m1.small"},
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
        monotonic=lambda: clock[0],
    )  # fmt: skip
    with pytest.raises(CloudError, match=r"2 server\(s\) not ACTIVE after 0:00:30"):
        nova.scale(action(0, 2))
    st = nova.status(WEB)
    assert (st.ready, st.booting) == (0, 2)


def test_unknown_flavor_is_a_clear_error(cloud: OpenStackCloud) -> None:
    nova = NovaAdapter(cloud.shared, NovaSettings(image="i"), {"web": "m9.huge"})
    with pytest.raises(CloudError, match=r"no flavor named 'm9\.huge'"):
        nova.scale(action(0, 1))
    assert cloud.fake.servers == {}


# ---------------------------------------------------------------- HTTP error rules


def test_401_reauthenticates_with_keystone_and_goes_on(cloud: OpenStackCloud) -> None:
    conn = cloud.connect()
    nova = NovaAdapter(conn, NovaSettings(image="img-1"), {"web": "m1.small"})
    nova.status(WEB)
    old = conn.session.get_token()
    cloud.keystone.revoke(old)
    cloud.fake.forget_tokens()
    nova.scale(action(0, 1))
    assert len(cloud.fake.servers) == 1
    new = cloud.fake.tokens_seen[-1]
    assert new != old and old in cloud.fake.tokens_seen


def test_401_that_persists_is_an_error(cloud: OpenStackCloud) -> None:
    cloud.fake.inject(Fault("GET", r"/servers/detail", status=401, times=5))
    with pytest.raises(CloudError, match=r"authentication refused \(HTTP 401\)"):
        adapter(cloud).status(WEB)


@pytest.mark.parametrize(
    ("status", "headers", "message", "retry_after"),
    [
        (403, {}, r"forbidden \(HTTP 403\)", None),
        (404, {}, r"not found \(HTTP 404\), the group is gone", None),
        (409, {}, r"conflict \(HTTP 409\), retry later", 30.0),
        (409, {"Retry-After": "12"}, r"conflict \(HTTP 409\)", 12.0),
        (413, {}, r"quota or rate limit \(HTTP 413\)", None),
        (429, {"Retry-After": "3600"}, r"quota or rate limit \(HTTP 429\)", 3600.0),
    ],
)
def test_refusals_become_cloud_errors_without_retrying(
    cloud: OpenStackCloud, status: int, headers: dict[str, str], message: str,
    retry_after: float | None,
) -> None:  # fmt: skip
    body = {"forbidden": {"code": status, "message": "Policy doesn't allow it."}}
    cloud.fake.inject(Fault("POST", r"/servers$", status=status, headers=headers, body=body))
    slept: list[float] = []
    with pytest.raises(CloudError, match=message) as exc:
        adapter(cloud, slept).scale(action(0, 1))
    assert exc.value.retry_after == retry_after
    assert slept == [] and cloud.fake.servers == {}


def test_429_with_a_short_retry_after_is_waited_for(cloud: OpenStackCloud) -> None:
    cloud.fake.inject(Fault("GET", r"/servers/detail", status=429, headers={"Retry-After": "2"}))
    slept: list[float] = []
    assert adapter(cloud, slept).status(WEB).total == 0
    assert slept == [2.0]


def test_5xx_backs_off_then_succeeds_or_gives_up(cloud: OpenStackCloud) -> None:
    cloud.fake.inject(Fault("GET", r"/servers/detail", status=503, times=2))
    slept: list[float] = []
    assert adapter(cloud, slept).status(WEB).total == 0
    assert len(slept) == 2
    cloud.fake.inject(Fault("GET", r"/servers/detail", status=500, times=3))
    with pytest.raises(CloudError, match=r"HTTP 500.*after 3 attempts"):
        adapter(cloud).status(WEB)


def test_connection_resets_and_slow_answers(cloud: OpenStackCloud) -> None:
    cloud.fake.inject(Fault("GET", r"/servers/detail", reset_before=True))
    assert adapter(cloud).status(WEB).total == 0
    cloud.fake.inject(Fault("GET", r"/servers/detail", delay=0.2))
    assert adapter(cloud).status(WEB).total == 0  # slow but within the timeout
    slow = NovaAdapter(
        cloud.connect("test-slow"), NovaSettings(image="i"), {"web": "m1.small"},
        backoff=Backoff(attempts=2, base=0.01, sleep=lambda s: None),
    )  # fmt: skip
    slow.status(WEB)  # discovery done before the faults
    cloud.fake.inject(Fault("GET", r"/servers/detail", delay=3.5, times=2))
    with pytest.raises(CloudError, match=r"cannot reach the cloud .*after 2 attempts"):
        slow.status(WEB)


def test_a_zero_boot_timeout_returns_at_once_with_servers_booting(cloud: OpenStackCloud) -> None:
    cloud.fake.build_polls = 3
    nova = NovaAdapter(
        cloud.shared, NovaSettings(image="img-1", boot_timeout=timedelta(0)), {"web": "m1.small"}
    )
    nova.scale(action(0, 2))
    assert cloud.fake.calls("GET", r"/servers/[0-9a-f-]+$") == 0  # no polling
    st = nova.status(WEB)
    assert (st.ready, st.booting) == (0, 2)
