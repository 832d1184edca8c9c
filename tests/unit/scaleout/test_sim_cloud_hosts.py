"""The simulated cloud with compute hosts: allocation limits, placement, NoValidHost."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.model import CloudError, GroupSpec, Placement, ScaleAction
from autoscaler.placement.hosts import Flavor, Host
from autoscaler.placement.victims import VictimPolicy
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
SMALL = Flavor("small", 1, 2048)
BIG = Flavor("big", 4, 8192)


def spec(name: str) -> GroupSpec:
    return GroupSpec(name, 0, 100, 1.0)


def check_hosts(cloud: SimCloud, flavors: dict[str, Flavor]) -> None:
    """Every host within its limits, and its allocation exactly its members' flavors."""
    members: dict[str, list[str]] = {}
    for name in cloud.groups:
        for inst in cloud.fleet(spec(name)):
            assert inst.host is not None and inst.zone is not None
            members.setdefault(inst.host, []).append(name)
    used = 0
    for view in cloud.host_views():
        h = view.host
        assert view.vcpus_used <= h.vcpus * h.cpu_allocation_ratio + 1e-9
        assert view.ram_used <= h.ram_mb * h.ram_allocation_ratio + 1e-9
        assert view.gpus_used <= h.gpus
        groups = members.get(h.name, [])
        assert Counter(view.groups) == Counter(groups)
        assert view.vcpus_used == sum(flavors[g].vcpus for g in groups)
        assert view.ram_used == sum(flavors[g].ram_mb for g in groups)
        assert view.gpus_used == sum(flavors[g].gpus for g in groups)
        used += bool(groups)
    assert cloud.hosts_used() == used


host_st = st.builds(
    Host,
    name=st.sampled_from(["h1", "h2", "h3", "h4", "h5"]),
    zone=st.sampled_from(["az1", "az2"]),
    vcpus=st.integers(1, 8),
    ram_mb=st.integers(2048, 16384),
    gpus=st.integers(0, 2),
    cpu_allocation_ratio=st.sampled_from([1.0, 2.0]),
    ram_allocation_ratio=st.sampled_from([1.0, 1.5]),
)
placement_st = st.one_of(
    st.just(Placement()),
    st.builds(Placement, host=st.sampled_from(["h1", "h2", "h3", "nope"])),
    st.builds(Placement, zone=st.sampled_from(["az1", "az2", "az9"])),
    st.builds(Placement, host=st.sampled_from(["h1", "h4"]), zone=st.sampled_from(["az1", "az2"])),
)
op_st = st.tuples(
    st.sampled_from(["web", "gpu"]),
    st.integers(0, 12),  # target size
    st.lists(placement_st, max_size=6),
    st.integers(0, 3),  # minutes to advance afterwards
    st.booleans(),  # name victims (the oldest) on scale-in
)


@settings(max_examples=60, deadline=None)
@given(
    hosts=st.lists(host_st, min_size=1, max_size=5, unique_by=lambda h: h.name),
    ops=st.lists(op_st, max_size=25),
    seed=st.integers(0, 3),
)
def test_hosts_never_exceed_their_limits(hosts, ops, seed) -> None:
    flavors = {"web": SMALL, "gpu": Flavor("gpu", 2, 4096, 1)}
    cloud = SimCloud(BootDelay("fixed", 2 * MIN), seed=seed, failure_rate=0.2, hosts=hosts)
    for name, flavor in flavors.items():
        cloud.create_group(name, 0, T0, flavor)
    now = T0
    created = Counter[str]()
    for k, (group, target, placements, wait, name_victims) in enumerate(ops):
        ready, booting = cloud.counts(group)
        current = ready + booting
        victims: tuple[str, ...] = ()
        if target < current and name_victims:
            victims = tuple(i.id for i in cloud.fleet(spec(group)))[: current - target]
        action = ScaleAction(
            group, f"a{k}", now, current, target, "test", victims, tuple(placements)
        )
        cloud.scale(action)
        created[group] += max(0, target - current)
        check_hosts(cloud, flavors)
        now += wait * MIN
        cloud.advance(now)
        check_hosts(cloud, flavors)
        ready, booting = cloud.counts(group)
        # every launch is booting, ready, failed (boot or placement) or was removed
        assert ready + booting + cloud.status(spec(group)).failed <= created[group]
    assert sum(cloud.placement_failures(g) for g in flavors) <= sum(
        cloud.status(spec(g)).failed for g in flavors
    )


def test_requested_host_and_zone_are_honoured() -> None:
    hosts = [Host("a", "az1", 2), Host("b", "az2", 2), Host("c", "az2", 2)]
    cloud = SimCloud(BootDelay("fixed", MIN), hosts=hosts)
    cloud.create_group("g", 0, T0, SMALL)
    places = (Placement("c", "az2"), Placement(zone="az1"), Placement("b"))
    cloud.scale(ScaleAction("g", "up", T0, 0, 3, "test", (), places))
    got = {i.id: (i.host, i.zone) for i in cloud.fleet(spec("g"))}
    assert got == {"g-1": ("c", "az2"), "g-2": ("a", "az1"), "g-3": ("b", "az2")}
    assert cloud.capabilities >= {"placement", "host_views"}


def test_placement_that_does_not_fit_fails_like_no_valid_host() -> None:
    hosts = [Host("a", "az1", 4, 16384), Host("b", "az2", 4, 16384)]
    cloud = SimCloud(BootDelay("fixed", MIN), hosts=hosts)
    cloud.create_group("g", 0, T0, BIG)
    # a: fits once; a again: full; host in the wrong zone; unknown host; a zone without hosts
    places = (
        Placement("a", "az1"),
        Placement("a", "az1"),
        Placement("b", "az1"),
        Placement("x"),
        Placement(zone="az3"),
    )
    cloud.scale(ScaleAction("g", "up", T0, 0, 5, "test", (), places))
    assert cloud.counts("g") == (0, 1)
    assert cloud.status(spec("g")).failed == 4 == cloud.placement_failures("g")
    # with no placement given the cloud finds b; after that nothing fits anywhere
    cloud.scale(ScaleAction("g", "up2", T0, 1, 3, "test"))
    assert [i.host for i in cloud.fleet(spec("g"))] == ["a", "b"]
    assert cloud.placement_failures("g") == 5
    cloud.advance(T0 + MIN)
    assert cloud.counts("g") == (2, 0)


def test_default_scheduler_spreads_by_free_ram_and_groups_contend() -> None:
    hosts = [Host("a", "az1", 8, 8192), Host("b", "az1", 8, 8192)]
    cloud = SimCloud(BootDelay("fixed", MIN), hosts=hosts)
    cloud.create_group("web", 2, T0, SMALL)  # one on each host
    cloud.create_group("db", 0, T0, Flavor("db", 2, 6144))
    assert sorted(i.host for i in cloud.fleet(spec("web"))) == ["a", "b"]
    cloud.scale(ScaleAction("db", "db1", T0, 0, 2, "test"))
    assert sorted(i.host for i in cloud.fleet(spec("db"))) == ["a", "b"]
    # each host has 8192 - 2048 - 6144 = 0 MB left: web cannot grow
    cloud.scale(ScaleAction("web", "w1", T0, 2, 3, "test"))
    assert cloud.placement_failures("web") == 1 and cloud.counts("web") == (2, 0)
    views = {v.host.name: v for v in cloud.host_views()}
    assert sorted(views["a"].groups) == ["db", "web"] and views["a"].ram_used == 8192


def test_scale_in_frees_the_host() -> None:
    hosts = [Host("a", "az1", 1), Host("b", "az1", 1)]
    cloud = SimCloud(BootDelay("fixed", timedelta(0)), hosts=hosts)
    cloud.create_group("g", 2, T0, SMALL)
    assert cloud.hosts_used() == 2
    victim = next(i.id for i in cloud.fleet(spec("g")) if i.host == "a")
    cloud.scale(ScaleAction("g", "down", T0, 2, 1, "test", (victim,)))
    assert cloud.hosts_used() == 1
    assert [v.vms for v in cloud.host_views()] == [(), ("g-2",)]
    cloud.scale(ScaleAction("g", "up", T0, 1, 2, "test", (), (Placement("a"),)))
    # a zero boot delay serves at once
    assert cloud.counts("g") == (2, 0) and cloud.hosts_used() == 2


def test_failed_boot_releases_its_host() -> None:
    cloud = SimCloud(BootDelay("fixed", MIN), failure_rate=0.999, hosts=[Host("a", vcpus=1)])
    cloud.create_group("g", 0, T0, SMALL)
    cloud.scale(ScaleAction("g", "up", T0, 0, 1, "test"))
    assert cloud.hosts_used() == 1
    cloud.advance(T0 + MIN)
    assert cloud.counts("g") == (0, 0) and cloud.hosts_used() == 0
    assert cloud.status(spec("g")).failed == 1 and cloud.placement_failures("g") == 0


def test_initial_instances_that_do_not_fit_are_refused_whole() -> None:
    cloud = SimCloud(BootDelay(), hosts=[Host("a", vcpus=2)])
    with pytest.raises(CloudError, match="cannot hold group g's 3 initial instances"):
        cloud.create_group("g", 3, T0, SMALL)
    assert "g" not in cloud.groups and cloud.hosts_used() == 0
    assert cloud.host_views()[0].vcpus_used == 0


def test_without_hosts_nothing_changes() -> None:
    cloud = SimCloud(BootDelay("fixed", MIN))
    cloud.create_group("g", 1, T0)
    cloud.scale(ScaleAction("g", "up", T0, 1, 3, "test", (), (Placement("a"),)))
    assert cloud.counts("g") == (1, 2)
    assert cloud.host_views() == [] and cloud.hosts_used() == 0
    assert "placement" not in cloud.capabilities
    assert all(i.host is None for i in cloud.fleet(spec("g")))


def test_the_simulated_cloud_reports_each_instances_share_of_the_load() -> None:
    cloud = SimCloud(BootDelay("fixed", timedelta(minutes=2)))
    spec = GroupSpec("web", 0, 10, 100.0)
    cloud.create_group("web", 4, T0)
    assert "instance_load" in cloud.capabilities
    cloud.advance(T0)
    assert all(i.load is None for i in cloud.fleet(spec))  # no demand attached: unknown
    cloud.attach_demand("web", np.array([200.0, 600.0]), T0, timedelta(minutes=1))
    cloud.advance(T0 + timedelta(minutes=1))
    assert [i.load for i in cloud.fleet(spec)] == [150.0] * 4  # 600/s over 4 serving
    cloud.advance(T0 + timedelta(minutes=5))  # past the demand's span: unknown again
    assert all(i.load is None for i in cloud.fleet(spec))
    # least_loaded now sees real loads: a booting instance (load 0) goes first.
    cloud.scale(ScaleAction("web", "a1", T0 + timedelta(minutes=1), 4, 5, "test"))
    cloud.advance(T0 + timedelta(minutes=1, seconds=30))
    fleet = cloud.fleet(spec)
    booting = [i for i in fleet if not i.ready]
    assert len(booting) == 1 and booting[0].load == 0.0
    assert VictimPolicy("least_loaded").choose_victims(1, fleet, T0) == [booting[0].id]
