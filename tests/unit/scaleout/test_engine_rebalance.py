"""The engine runs a group's rebalance round when it is due, on a tick that acted on
nothing and had good data; the round records its plan and applies it only in apply mode."""

from __future__ import annotations

from datetime import timedelta

from autoscaler.engine import Engine, GroupBinding
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import CloudError, GroupStatus
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest
from autoscaler.placement.migration_plan import MigrationCaps
from autoscaler.placement.policies import InterferenceAwarePlacement
from autoscaler.placement.rebalance import Consolidation
from autoscaler.rebalancing import RebalanceRound
from tests.unit.scaleout.test_engine_placement import T0, Steady, Wants, spec

SMALL = Flavor("small", 1, 2048)


class MigratingCloud:
    """Three hosts, one of the group's VMs on each; live migration moves them here."""

    capabilities = frozenset({"absolute_count", "placement", "host_views", "live_migration"})

    def __init__(self, refuse: bool = False) -> None:
        self.where = {"vm-1": "h1", "vm-2": "h2", "vm-3": "h3"}
        self.migrated: list[tuple[str, str]] = []
        self.refuse = refuse

    def status(self, group):
        return GroupStatus(ready=len(self.where))

    def fleet(self, group):
        return []

    def scale(self, action) -> None:
        raise AssertionError("no scaling expected")

    def host_views(self) -> list[HostView]:
        views = []
        for name in ("h1", "h2", "h3"):
            view = HostView(Host(name, "az1", 4, 65536, 0, 4.0))
            for vm, h in sorted(self.where.items()):
                if h == name:
                    view = view.with_vm(VmRequest(vm, SMALL, "web"))
            views.append(view)
        return views

    def live_migrate(self, server_id: str, host: str) -> None:
        if self.refuse:
            raise CloudError(f"live migration of {server_id} to {host} failed")
        self.migrated.append((server_id, host))
        self.where[server_id] = host


def binding(cloud: MigratingCloud, mode: str, plans: list[dict], wants: int = 3) -> GroupBinding:
    b = GroupBinding(spec(), [Wants(wants)], Steady([20.0] * 5), cloud)  # type: ignore[arg-type]
    b.flavor = SMALL
    b.rebalancer = RebalanceRound(
        InterferenceAwarePlacement(),
        Consolidation(0.7, 32),
        MigrationCaps(),
        timedelta(hours=1),
        mode,  # type: ignore[arg-type]
        lambda group, rec: plans.append(dict(rec)),
    )
    return b


def test_plan_mode_records_and_moves_nothing_then_waits_for_the_next_round() -> None:
    cloud, plans = MigratingCloud(), []
    engine = Engine([binding(cloud, "plan", plans)], MemoryStateStore())
    engine.tick(T0)
    assert plans and plans[-1]["status"] == "planned" and len(plans[-1]["moves"]) == 2
    assert plans[-1]["efficacy"]["hosts_released"] == 2 and not cloud.migrated
    engine.tick(T0 + timedelta(minutes=30))  # not due yet
    assert len(plans) == 1
    engine.tick(T0 + timedelta(hours=1))
    assert len(plans) == 2


def test_apply_mode_migrates_and_records_each_outcome() -> None:
    cloud, plans = MigratingCloud(), []
    Engine([binding(cloud, "apply", plans)], MemoryStateStore()).tick(T0)
    assert [p["status"] for p in plans] == ["planned", "applying", "applying", "applying",
                                            "applied"]  # fmt: skip
    assert len(cloud.migrated) == 2 and len(set(cloud.where.values())) == 1


def test_no_round_on_a_tick_that_scales() -> None:
    cloud, plans = MigratingCloud(), []
    b = binding(cloud, "apply", plans, wants=3)
    cloud.where.pop("vm-3")  # two ready, the policy wants three: this tick scales out
    cloud.scale = lambda action: None  # type: ignore[method-assign]
    outcome = Engine([b], MemoryStateStore()).tick(T0)[0]
    assert outcome.action is not None and not plans


def test_a_refused_migration_is_recorded_as_failed() -> None:
    cloud, plans = MigratingCloud(refuse=True), []
    outcome = Engine([binding(cloud, "apply", plans)], MemoryStateStore()).tick(T0)[0]
    assert plans[-1]["status"] == "failed" and outcome.error is None
    assert plans[-1]["moves"][0]["outcome"].startswith("failed: live migration")
