"""Rebalancing a running placement: relieving hot hosts and draining cold ones."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.config import ConfigError, parse_config
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest
from autoscaler.placement.policies import Demand, InterferenceAwarePlacement
from autoscaler.placement.rebalance import (
    Consolidation,
    Member,
    Move,
    consolidate,
    rebalance,
)
from autoscaler.simulator.vm_replay import VmTraces, host_pool, replay

SMALL = Flavor("small", 1, 2048)
POLICY = InterferenceAwarePlacement(threshold=0.8, quantile=0.95)


def layout(
    spec: dict[str, list[tuple[float, float]]], vcpus: int = 4
) -> tuple[list[HostView], dict[str, Member]]:
    """Hosts named by ``spec``'s keys (``vcpus`` each, CPU overcommitted 4:1), each with VMs
    of the given predicted (mean, var) demand, named ``<host>0``, ``<host>1``, ..."""
    views, members = [], {}
    for name, loads in spec.items():
        v = HostView(Host(name, vcpus=vcpus, cpu_allocation_ratio=4.0))
        for i, (mean, var) in enumerate(loads):
            m = Member(VmRequest(f"{name}{i}", SMALL), Demand(mean, var))
            members[m.vm.id] = m
            v = v.with_vm(m.vm, mean, var)
        views.append(v)
    return views, members


def where(plan_hosts) -> dict[str, str]:
    return {vm: v.host.name for v in plan_hosts for vm in v.vms}


# ------------------------------------------------------------------ the rule, by hand


def test_empties_the_coldest_host_onto_the_fullest_that_stays_under_target() -> None:
    # predicted (no variance): a 1.6/4 = 40 %, b 1.0/4 = 25 %, c 0.4/4 = 10 %, d empty
    views, members = layout(
        {"a": [(0.8, 0), (0.8, 0)], "b": [(1.0, 0)], "c": [(0.2, 0), (0.2, 0)], "d": []}
    )
    plan = consolidate(POLICY, views, members, Consolidation(0.7, 10))
    # c first (coldest); its VMs go to a, the fullest by prediction (40 -> 45 -> 50 %);
    # b and a then received or are the only other used host, so they stay
    assert plan.moves == (
        Move("c0", "c", "a", "consolidate"),
        Move("c1", "c", "a", "consolidate"),
    )
    assert plan.drained == ("c",)
    after = {v.host.name: v for v in plan.hosts}
    assert after["c"].vms == () and after["d"].vms == ()  # no empty host was opened
    assert POLICY.predicted(after["a"]) == pytest.approx(0.5)


def test_variance_counts_against_the_target() -> None:
    # a: mean 2.0, var 0.25 -> (2.0 + 1.645 * 0.5) / 4 = 70.6 % already; adding b's VM
    # would push it further above 70 %: nowhere to go, nothing moves
    views, members = layout({"a": [(2.0, 0.25)], "b": [(0.2, 0.0)]})
    plan = consolidate(POLICY, views, members, Consolidation(0.7, 10))
    assert plan.moves == () and plan.drained == ()
    assert plan.hosts == tuple(views)


def test_never_half_drains() -> None:
    # b's two VMs of 1.0 each: a (1.2) takes one (2.2/4 = 55 %) but not both (80 %)
    views, members = layout({"a": [(1.2, 0)], "b": [(1.0, 0), (1.0, 0)]})
    plan = consolidate(POLICY, views, members, Consolidation(0.7, 10))
    assert plan.moves == () and plan.drained == ()
    assert plan.hosts == tuple(views)


def test_respects_the_move_cap() -> None:
    views, members = layout(
        {"a": [(0.5, 0)], "b": [(0.1, 0), (0.1, 0)], "c": [(0.2, 0), (0.2, 0)], "d": [(0.3, 0)]}
    )
    # cap 3: b (coldest, 2 moves), then d (1 more); c's 2 more would exceed it
    plan = consolidate(POLICY, views, members, Consolidation(0.7, 3))
    assert plan.drained == ("b", "d")
    assert len(plan.moves) == 3
    assert consolidate(POLICY, views, members, Consolidation(0.7, 0)).moves == ()


def test_pinned_hosts_are_not_drained() -> None:
    views, members = layout({"a": [(0.3, 0)], "b": [(0.1, 0)], "c": [(0.2, 0)]})
    plan = consolidate(POLICY, views, members, Consolidation(0.7, 10))
    # b (coldest) then c drain into a, the fullest receiver: 3 hosts -> 1
    assert plan.drained == ("b", "c") and set(where(plan.hosts).values()) == {"a"}
    pinned = consolidate(POLICY, views, members, Consolidation(0.7, 10), pinned={"b"})
    assert pinned.drained == ("c",) and where(pinned.hosts)["c0"] == "a"


def test_hot_hosts_are_relieved_before_consolidation_and_its_receivers_kept() -> None:
    # a is predicted at 3.6/4 = 90 %: its 1.2 VM goes to c (the fullest under 80 %),
    # leaving a at 60 %; b (0.2) then drains into c or a, whichever ends fuller under 70 %
    views, members = layout({"a": [(1.2, 0), (1.2, 0), (1.2, 0)], "b": [(0.2, 0)], "c": [(1.5, 0)]})
    plan = rebalance(POLICY, views, members, Consolidation(0.7, 10))
    assert plan.count("hot") == 1 and plan.moves[0] == Move("a0", "a", "c", "hot")
    # c now 2.7/4 = 67.5 %: b's VM would make it 72.5 %; a at 2.4/4 + 0.05 = 65 % takes it
    assert plan.moves[1:] == (Move("b0", "b", "a", "consolidate"),)
    assert plan.drained == ("b",)


def test_target_must_be_below_the_contention_threshold() -> None:
    views, members = layout({"a": [(0.1, 0)]})
    with pytest.raises(ValueError, match=r"must be below the contention threshold 0\.8"):
        rebalance(POLICY, views, members, Consolidation(0.8, 10))
    with pytest.raises(ValueError, match="must be in"):
        Consolidation(1.5)


# ------------------------------------------------------------------ properties

host_st = st.builds(
    Host,
    name=st.just(""),
    vcpus=st.integers(1, 8),
    ram_mb=st.integers(4096, 32768),
    cpu_allocation_ratio=st.sampled_from([1.0, 2.0, 4.0]),
    ram_allocation_ratio=st.sampled_from([1.0, 1.5]),
)
vm_st = st.tuples(
    st.integers(1, 2),  # vCPUs
    st.sampled_from([1024, 2048, 4096]),  # RAM
    st.floats(0, 1.5),  # predicted mean (vCPUs)
    st.floats(0, 0.5),  # predicted variance
    st.integers(0, 9),  # preferred host (first that fits from there)
)


@settings(max_examples=200, deadline=None)
@given(
    hosts=st.lists(host_st, min_size=1, max_size=10),
    vms=st.lists(vm_st, max_size=40),
    below=st.sampled_from([0.5, 0.6, 0.7]),
    cap=st.integers(0, 12),
)
def test_rebalance_keeps_every_limit(hosts, vms, below, cap) -> None:
    views = [HostView(Host(f"h{k}", "az1", *_host_args(h))) for k, h in enumerate(hosts)]
    members: dict[str, Member] = {}
    for i, (cpus, ram, mean, var, pref) in enumerate(vms):
        m = Member(VmRequest(f"vm{i}", Flavor("f", cpus, ram)), Demand(mean, var))
        order = [(pref + d) % len(views) for d in range(len(views))]
        k = next((k for k in order if views[k].fits(m.vm.flavor)), None)
        if k is not None:
            members[m.vm.id] = m
            views[k] = views[k].with_vm(m.vm, mean, var)

    rule = Consolidation(below, cap)
    plan = rebalance(POLICY, views, members, rule)
    after = {v.host.name: v for v in plan.hosts}

    # every VM is on exactly one host, within the allocation limits, predictions add up
    assert sorted(vm for v in plan.hosts for vm in v.vms) == sorted(members)
    for v in plan.hosts:
        h = v.host
        assert v.vcpus_used <= h.vcpus * h.cpu_allocation_ratio + 1e-9
        assert v.ram_used <= h.ram_mb * h.ram_allocation_ratio + 1e-9
        assert v.vcpus_used == sum(members[vm].vm.flavor.vcpus for vm in v.vms)
        assert v.predicted_mean == pytest.approx(sum(members[vm].demand.mean for vm in v.vms))
    # consolidation: only whole hosts, within the cap, receivers at or below the target
    cold = [m for m in plan.moves if m.reason == "consolidate"]
    assert len(cold) <= cap
    assert {m.source for m in cold} == set(plan.drained)
    for name in plan.drained:
        assert after[name].vms == ()
    for name in {m.target for m in cold}:
        assert POLICY.predicted(after[name]) <= below + 1e-9
        assert name not in plan.drained
    # hysteresis: with the same demands, the next round moves no VM off those receivers
    again = rebalance(POLICY, list(plan.hosts), members, rule)
    assert not {m.source for m in again.moves if m.reason == "hot"} & {m.target for m in cold}


def _host_args(h: Host) -> tuple:
    return (h.vcpus, h.ram_mb, 0, h.cpu_allocation_ratio, h.ram_allocation_ratio)


# ------------------------------------------------------------------ replay


def test_replay_uses_fewer_hosts_once_the_load_falls() -> None:
    # 32 VMs at ~60 % for the first 3 hours, then ~10 %: at the peak 5 fit a host under
    # the threshold (7 hosts); afterwards 16 would (the 4:1 allocation limit): 2 hosts
    steps, n = 96, 32
    rng = np.random.default_rng(1)
    level = np.where(np.arange(steps) < 36, 60.0, 10.0)
    traces = VmTraces(
        tuple(f"vm{i}" for i in range(n)),
        level[None, :] + rng.uniform(-2, 2, (n, steps)),
        timedelta(minutes=5),
    )
    runs = {
        c: replay(POLICY, traces, host_pool(12), SMALL, consolidation=c)
        for c in (None, Consolidation(0.7, 32))
    }
    off, on = runs[None], runs[Consolidation(0.7, 32)]
    assert off.hosts_used_peak == on.hosts_used_peak == 7
    assert off.hosts_used_mean == 7 and off.consolidated == 0
    assert on.hosts_used_mean < off.hosts_used_mean - 2
    assert on.hosts_drained >= 5 and on.moved == on.moved_off_hot + on.consolidated
    assert on.contention_minutes == off.contention_minutes == 0
    assert on.max_allocation_ratio <= 4.0


# ------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("placement", "threshold", "want"),
    [
        ({}, 0.8, 0.7),  # default: 0.1 under the contention threshold
        ({}, 0.15, 0.075),  # ... but at least half of it
        ({"consolidate_below": 0.5}, 0.8, 0.5),
        ({"consolidate": False}, 0.8, None),
    ],
)
def test_config_consolidation_target(placement: dict, threshold: float, want) -> None:
    pc = parse_config({"placement": placement}).placement
    assert pc.consolidation_target(threshold) == want


def test_config_rejects_a_target_not_below_the_threshold() -> None:
    with pytest.raises(ConfigError, match=r"consolidate_below \(0.8\) must be below"):
        parse_config({"placement": {"consolidate_below": 0.8}})
    pc = parse_config({"placement": {"consolidate_below": 0.6}}).placement
    with pytest.raises(ValueError, match=r"must be below the contention threshold \(0.5\)"):
        pc.consolidation_target(0.5)
