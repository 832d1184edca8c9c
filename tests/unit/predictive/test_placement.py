"""Placement policies, victim selection, and the per-VM trace replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.engine import Engine, GroupBinding
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import Decision, GroupSpec, InstanceInfo, MetricWindow
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest
from autoscaler.placement.policies import (
    Demand,
    InterferenceAwarePlacement,
    PackPlacement,
    SpreadPlacement,
    build_placement,
    place,
)
from autoscaler.placement.victims import VictimPolicy
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud
from autoscaler.simulator.vm_replay import VmTraces, host_pool, replay

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SMALL = Flavor("small", 1, 2048)
GPU = Flavor("gpu", 4, 16384, 1)


def views(*hosts: Host) -> list[HostView]:
    return [HostView(h) for h in hosts]


# ------------------------------------------------------------------ capacity (property)

host_st = st.builds(
    Host,
    name=st.uuids().map(str),
    zone=st.sampled_from(["az1", "az2", "az3"]),
    vcpus=st.integers(1, 16),
    ram_mb=st.integers(1024, 65536),
    gpus=st.integers(0, 4),
    cpu_allocation_ratio=st.sampled_from([1.0, 1.5, 4.0]),
    ram_allocation_ratio=st.sampled_from([1.0, 1.5]),
)
flavor_st = st.builds(
    Flavor,
    name=st.just("f"),
    vcpus=st.integers(1, 8),
    ram_mb=st.integers(512, 16384),
    gpus=st.integers(0, 2),
)


@settings(max_examples=60, deadline=None)
@given(
    hosts=st.lists(host_st, min_size=1, max_size=8),
    flavors=st.lists(flavor_st, min_size=1, max_size=40),
    policy=st.sampled_from(["spread", "pack", "interference_aware"]),
    loads=st.lists(st.floats(0, 8), min_size=40, max_size=40),
)
def test_placement_never_exceeds_host_capacity(hosts, flavors, policy, loads) -> None:
    requests = [VmRequest(f"vm{i}", f, "g") for i, f in enumerate(flavors)]
    demands = [Demand(loads[i], loads[i] / 4) for i in range(len(requests))]
    plan = place(build_placement(policy), requests, views(*hosts), demands)
    assert len(plan.assignments) + len(plan.unplaced) == len(requests)
    for v in plan.hosts:
        h = v.host
        assert v.vcpus_used <= h.vcpus * h.cpu_allocation_ratio + 1e-9
        assert v.ram_used <= h.ram_mb * h.ram_allocation_ratio + 1e-9
        assert v.gpus_used <= h.gpus
    # a VM is left out only when it fitted nowhere; hosts only fill up, so nor at the end
    by_id = {r.id: r for r in requests}
    for vm_id in plan.unplaced:
        assert not any(v.fits(by_id[vm_id].flavor) for v in plan.hosts)


# ------------------------------------------------------------------ each policy's rule


def test_spread_alternates_zones_then_hosts() -> None:
    hosts = views(
        Host("a1", "az1", 8, 32768), Host("a2", "az1", 8, 32768), Host("b1", "az2", 8, 32768)
    )
    plan = place(SpreadPlacement(), [VmRequest(f"v{i}", SMALL, "web") for i in range(4)], hosts)
    assert [h for _, h in plan.assignments] == ["a1", "b1", "a2", "b1"]


def test_spread_counts_only_the_group_for_anti_affinity() -> None:
    hosts = views(Host("a1", "az1"), Host("b1", "az2"))
    busy = hosts[1].with_vm(VmRequest("other", SMALL, "db"))
    plan = place(SpreadPlacement(), [VmRequest("w", SMALL, "web")], [hosts[0], busy])
    assert plan.assignments == (("w", "a1"),)  # zone az1 has no web member, az2 neither: a1 by name
    web_on_b = hosts[1].with_vm(VmRequest("w0", SMALL, "web"))
    plan = place(SpreadPlacement(), [VmRequest("w", SMALL, "web")], [hosts[0], web_on_b])
    assert plan.assignments == (("w", "a1"),)


def test_pack_best_fit_uses_fewest_hosts() -> None:
    hosts = views(Host("h1", vcpus=4), Host("h2", vcpus=4), Host("h3", vcpus=2))
    requests = [VmRequest(f"v{i}", SMALL) for i in range(6)]
    plan = place(PackPlacement(), requests, hosts)
    # best fit: the 2-vCPU host first (least left), then one 4-vCPU host, then the other
    assert [h for _, h in plan.assignments] == ["h3", "h3", "h1", "h1", "h1", "h1"]
    assert sum(1 for v in plan.hosts if v.vms) == 2


def test_gpu_flavors_only_on_gpu_hosts_and_never_overcommitted() -> None:
    hosts = views(
        Host("cpu", vcpus=64, ram_mb=262144), Host("gpu", vcpus=64, ram_mb=262144, gpus=2)
    )
    requests = [VmRequest(f"g{i}", GPU) for i in range(3)]
    for policy in ("spread", "pack", "interference_aware"):
        plan = place(build_placement(policy), requests, hosts)
        assert [h for _, h in plan.assignments] == ["gpu", "gpu"]
        assert plan.unplaced == ("g2",)


@pytest.mark.parametrize(
    ("existing", "demand", "want"),
    [
        # predicted use of the 4-vCPU hosts (mean, var) -> where a VM using 0.5 +- 0 goes
        ([(2.0, 0.0), (1.0, 0.0), None], Demand(0.5), 0),  # fullest that stays below 80 %
        ([(2.9, 0.0), (1.0, 0.0), None], Demand(0.5), 1),  # 3.4/4 = 85 % would cross it
        ([(2.0, 1.0), (1.0, 0.0), None], Demand(0.5), 1),  # variance counts: 2.5 + 1.64 > 3.2
        ([(3.0, 0.0), (3.1, 0.0), None], Demand(0.5), 2),  # none below: open the empty host
        ([(3.0, 0.0), (3.1, 0.0)], Demand(0.5), 0),  # no empty host: the least predicted
    ],
)
def test_interference_aware_rule(existing, demand, want) -> None:
    hosts = []
    for k, e in enumerate(existing):
        v = HostView(Host(f"h{k}", vcpus=4, cpu_allocation_ratio=4.0))
        if e is not None:
            v = v.with_vm(VmRequest(f"x{k}", SMALL), *e)
        hosts.append(v)
    policy = InterferenceAwarePlacement(threshold=0.8, quantile=0.95)
    assert policy.choose_host(VmRequest("new", SMALL), hosts, demand) == want


# ------------------------------------------------------------------ victims


def fleet() -> list[InstanceInfo]:
    t = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    return [
        InstanceInfo("a", t(0), "h1", load=0.9),
        InstanceInfo("b", t(10), "h1", load=0.2),
        InstanceInfo("c", t(20), "h2", load=0.5),
        InstanceInfo("d", t(30), "h1", load=None),
        InstanceInfo("e", t(40), None, ready=False),
    ]


@pytest.mark.parametrize(
    ("strategy", "n", "want"),
    [
        ("youngest", 2, ["e", "d"]),  # booting first, then the newest
        ("oldest", 2, ["e", "a"]),
        ("least_loaded", 3, ["e", "b", "c"]),  # unknown load (d) counts as busy
        ("frees_host", 2, ["e", "c"]),  # c alone on h2: removing it frees the host
        ("frees_host", 3, ["e", "c", "d"]),  # then h1's members, youngest first
        ("youngest", 9, ["e", "d", "c", "b", "a"]),
        ("oldest", 0, []),
    ],
)
def test_victims(strategy: str, n: int, want: list[str]) -> None:
    assert list(VictimPolicy(strategy).choose_victims(n, fleet(), T0)) == want


def test_unknown_victim_strategy() -> None:
    with pytest.raises(ValueError, match="unknown victim strategy 'random'"):
        VictimPolicy("random")


class _Fixed:
    name = "fixed"

    def __init__(self, n: int) -> None:
        self.n = n

    def decide(self, ctx) -> Decision:
        return Decision(self.n, "fixed", self.name)


class _Source:
    def window(self, query, end, span, step) -> MetricWindow:
        return MetricWindow(end, step, np.array([1.0, 1.0]))


def test_engine_removes_the_victims_the_policy_chose() -> None:
    spec = GroupSpec("g", 1, 10, 100.0, cooldown_down=timedelta(0))
    cloud = SimCloud(BootDelay(median=timedelta(0)))
    cloud.create_group("g", 0, T0)
    cloud.groups["g"].seq = 0
    store = MemoryStateStore()
    grow = Engine([GroupBinding(spec, [_Fixed(4)], _Source(), cloud)], store)
    for m in range(4):  # one instance a minute: g-1 .. g-4, oldest first
        grow.groups[0].policies = [_Fixed(m + 1)]
        grow.tick(T0 + timedelta(minutes=m))
        cloud.advance(T0 + timedelta(minutes=m))
    binding = GroupBinding(spec, [_Fixed(2)], _Source(), cloud, victims=VictimPolicy("oldest"))
    Engine([binding], store).tick(T0 + timedelta(minutes=10))
    assert [i.id for i in cloud.fleet(spec)] == ["g-3", "g-4"]


# ------------------------------------------------------------------ replay


@pytest.fixture(scope="module")
def planetlab(shared_data: Path) -> VmTraces:
    from autoscaler.simulator.vm_replay import load_vm_traces

    return load_vm_traces(shared_data / "planetlab" / "20110303", limit=160)


def test_replay_trades_hosts_for_contention(planetlab: VmTraces) -> None:
    hosts = host_pool(40)
    runs = {
        name: replay(build_placement(name), planetlab, hosts, SMALL, threshold=0.8)
        for name in ("spread", "pack", "interference_aware")
    }
    for r in runs.values():
        assert r.placed == 160 and r.unplaced == 0
        assert r.max_allocation_ratio <= 4.0
    assert runs["spread"].hosts_used_mean == 40
    assert runs["pack"].hosts_used_mean < 15
    ia = runs["interference_aware"]
    assert ia.hosts_used_mean < runs["spread"].hosts_used_mean
    assert ia.contention_minutes < runs["pack"].contention_minutes
    assert ia.vm_minutes_affected < runs["pack"].vm_minutes_affected
    assert runs["spread"].moved == runs["pack"].moved == 0


def test_replay_counts_overload_by_hand() -> None:
    # two VMs, one host of 1 vCPU: 60 % + 60 % = 120 % in the judged samples
    cpu = np.array([[10, 10, 60, 60, 10], [10, 10, 60, 10, 10]], dtype=float)
    traces = VmTraces(("x", "y"), cpu, timedelta(minutes=5))
    host = Host("h", vcpus=1, cpu_allocation_ratio=2.0)
    r = replay(PackPlacement(), traces, [host], SMALL, threshold=0.8, history=timedelta(minutes=10))
    # judged samples 2..4: host at 120 %, 70 %, 20 %
    assert (r.overload_minutes, r.contention_minutes, r.vm_minutes_affected) == (5.0, 5.0, 10.0)
    assert (r.hosts_used_mean, r.hosts_used_peak) == (1.0, 1)
