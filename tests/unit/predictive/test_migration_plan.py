"""A rebalance as a capped plan of live migrations with its expected efficacy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autoscaler.adapters.nova_placement import server_group_for
from autoscaler.commands.explain import explain_plan
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest
from autoscaler.placement.migration_plan import MigrationCaps, plan_migrations
from autoscaler.placement.policies import Demand, InterferenceAwarePlacement
from autoscaler.placement.rebalance import Consolidation, Member

POLICY = InterferenceAwarePlacement(0.8, 0.95)
SMALL = Flavor("s", 1, 2048)
HOUR = timedelta(hours=1)


def cluster(loads: list[list[float]]) -> tuple[list[HostView], dict[str, Member]]:
    """Hosts of 4 vCPUs (4:1) holding VMs with the given mean demands (no variance)."""
    views, members = [], {}
    for k, vms in enumerate(loads):
        view = HostView(Host(f"h{k}", "az1", 4, 65536, 0, 4.0))
        for j, mean in enumerate(vms):
            vm = VmRequest(f"h{k}-vm{j}", SMALL, "web")
            members[vm.id] = Member(vm, Demand(mean, 0.0))
            view = view.with_vm(vm, mean, 0.0)
        views.append(view)
    return views, members


def test_cold_hosts_are_drained_and_the_efficacy_counts_them() -> None:
    views, members = cluster([[0.2], [0.2], [0.3, 0.3]])
    plan = plan_migrations(
        POLICY, views, members, consolidation=Consolidation(0.7, 32), caps=MigrationCaps(),
        period=HOUR,
    )  # fmt: skip
    assert {m.target for m in plan.moves} == {"h2"} and len(plan.moves) == 2
    assert plan.released == ("h0", "h1") and plan.efficacy.hosts_released == 2
    assert plan.efficacy.contention_minutes_avoided == 0 and not plan.deferred


def test_relieving_a_hot_host_counts_the_contention_minutes_it_avoids() -> None:
    views, members = cluster([[1.0, 1.0, 1.0, 0.9], [0.1]])
    plan = plan_migrations(
        POLICY, views, members, consolidation=None, caps=MigrationCaps(), period=HOUR
    )
    assert plan.moves and all(m.reason == "hot" for m in plan.moves)
    assert (plan.efficacy.hot_hosts_before, plan.efficacy.hot_hosts_after) == (1, 0)
    assert plan.efficacy.contention_minutes_avoided == 60.0


def test_caps_per_round_and_per_host_defer_moves_whole_drains_only() -> None:
    views, members = cluster([[0.1, 0.1], [0.1], [0.5, 0.5]])
    free = plan_migrations(
        POLICY, views, members, consolidation=Consolidation(0.7, 32), caps=MigrationCaps(),
        period=HOUR,
    )  # fmt: skip
    assert len(free.moves) == 3
    capped = plan_migrations(
        POLICY, views, members, consolidation=Consolidation(0.7, 32),
        caps=MigrationCaps(per_round=2, per_host=16), period=HOUR,
    )  # fmt: skip
    # the first drain (h1, one VM) fits the cap; h0's two VMs would exceed it together
    assert [m.source for m in capped.moves] == ["h1"] and len(capped.deferred) == 2
    per_host = plan_migrations(
        POLICY, views, members, consolidation=Consolidation(0.7, 32),
        caps=MigrationCaps(per_round=32, per_host=1), period=HOUR,
    )  # fmt: skip
    assert len(per_host.moves) == 1 and per_host.released == ("h1",)


def test_only_movable_vms_move_and_a_drain_with_a_foreign_vm_is_skipped() -> None:
    views, members = cluster([[0.1], [0.1], [0.5, 0.5]])
    plan = plan_migrations(
        POLICY, views, members, consolidation=Consolidation(0.7, 32), caps=MigrationCaps(),
        period=HOUR, movable=lambda vm: vm != "h0-vm0",
    )  # fmt: skip
    assert [m.vm for m in plan.moves] == ["h1-vm0"] and plan.released == ("h1",)


def test_bad_caps_are_refused() -> None:
    with pytest.raises(ValueError, match="caps"):
        MigrationCaps(per_round=-1)


@pytest.mark.parametrize(
    ("placement", "configured", "limit", "expected"),
    [
        ("spread", None, None, ("soft-anti-affinity", {})),
        ("spread", None, 2, ("anti-affinity", {"max_server_per_host": 2})),
        ("pack", None, None, ("soft-affinity", {})),
        ("interference_aware", None, None, ("soft-anti-affinity", {})),
        ("pack", "affinity", None, ("affinity", {})),
        (None, None, None, None),
    ],
)
def test_without_hosts_a_policy_becomes_a_server_group(
    placement: str | None, configured: str | None, limit: int | None, expected: object
) -> None:
    got = server_group_for(placement, configured, limit)
    assert (got.policy, got.rules) == expected if got is not None else expected is None


def test_explain_prints_a_plan_with_its_efficacy() -> None:
    text = explain_plan(
        {"at": "2026-01-01T00:00:00+00:00", "mode": "apply", "status": "applied",
         "moves": [{"vm": "a", "source": "h0", "target": "h2", "reason": "consolidate",
                    "outcome": "done"}], "deferred": 1,
         "efficacy": {"hosts_released": 1, "contention_minutes_avoided": 0.0,
                      "hot_hosts_before": 0, "hot_hosts_after": 0}}
    )  # fmt: skip
    assert "rebalance plan (apply): applied, 1 live migration(s), 1 deferred" in text
    assert "1 host(s) released" in text and "move a: h0 -> h2 (consolidate), done" in text


@pytest.mark.parametrize(
    ("nova", "placement", "rebalance", "built"),
    [
        ({"image": "i"}, "interference_aware", "plan", True),
        ({"image": "i", "placement": "hints"}, "interference_aware", "plan", False),
        ({"image": "i"}, "interference_aware", "off", False),
        ({"image": "i"}, "pack", "apply", False),
    ],
)
def test_only_interference_aware_on_nova_hosts_gets_rebalance_rounds(
    nova: dict, placement: str, rebalance: str, built: bool
) -> None:
    from autoscaler.config import parse_config
    from autoscaler.registry import build_rebalancer

    cfg = parse_config(
        {"cloud": {"kind": "nova", "nova": nova},
         "placement": {"rebalance": rebalance, "migrations_per_round": 3},
         "groups": [{"name": "web", "placement": placement}]}
    )  # fmt: skip
    r = build_rebalancer(cfg, cfg.groups[0], lambda g, rec: None)
    assert (r is not None) == built
    if r is not None:
        assert (r.mode, r.caps.per_round, r.caps.per_host, r.every) == ("plan", 3, 4, HOUR)
