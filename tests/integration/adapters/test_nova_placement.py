"""Placement through Nova against a real Placement service behind the real Keystone.

The fake Nova registers its compute hosts as resource providers and every server's
allocation in that Placement, as Nova does; host views, scale-out placement and live
migrations are then read from and checked in the real service, through real
openstacksdk.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.nova_adapter import NovaAdapter, NovaSettings
from autoscaler.adapters.placement_hosts import PlacementAccessDenied
from autoscaler.config import CloudConfig, ConfigError, GroupConfig
from autoscaler.engine import Engine, GroupBinding
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import CloudError, GroupSpec, Placement, ScaleAction
from autoscaler.placement.hosts import Flavor
from autoscaler.placement.migration_plan import MigrationCaps
from autoscaler.placement.policies import Demand, InterferenceAwarePlacement, build_placement
from autoscaler.placement.rebalance import Consolidation
from autoscaler.rebalancing import RebalanceRound
from autoscaler.registry import build_cloud
from tests.integration.adapters.conftest import MEMBER_USER, PlacementCloud
from tests.unit.scaleout.test_engine_placement import Steady, Wants

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SMALL = Flavor("m1.small", 1, 2048)
WEB = GroupSpec("web", 0, 20, 100.0, cooldown_up=timedelta(0), cooldown_down=timedelta(0))


def nova(
    pc: PlacementCloud, mode: str | None = "hosts", user: str = "test", **kw: object
) -> NovaAdapter:
    """The adapter for group ``web`` (placement spread) with the given credentials."""
    return NovaAdapter(
        pc.connect(user),
        NovaSettings(image="img-1", network="net-1", placement=mode, **kw),  # type: ignore[arg-type]
        {"web": "m1.small"},
        placements={"web": "spread"},
        backoff=Backoff(attempts=2, base=0.01, sleep=lambda s: None, rng=random.Random(0)),
        sleep=lambda s: None,
    )


def hosts(pc: PlacementCloud, n: int, **kw: object) -> list[str]:
    names = [f"cmp-{k + 1}" for k in range(n)]
    for k, name in enumerate(names):
        pc.fake.add_compute_host(name, zone=f"az{k % 2 + 1}", **kw)  # type: ignore[arg-type]
    return names


def on_hosts(pc: PlacementCloud) -> Counter[str]:
    """Servers per host, as Placement's allocations say (not as the fake remembers)."""
    assert pc.fake.placement is not None
    by_uuid = {h["uuid"]: name for name, h in pc.fake.compute_hosts.items()}
    count: Counter[str] = Counter()
    for sid in pc.fake.servers:
        for rp in pc.fake.placement.allocations(sid):
            count[by_uuid[rp]] += 1
    return count


def test_host_views_are_read_from_placement(placement_cloud: PlacementCloud) -> None:
    pc = placement_cloud
    hosts(pc, 3, vcpus=4, ram_mb=65536, cpu_ratio=4.0)
    adapter = nova(pc)
    adapter.scale(ScaleAction("web", "web-1", T0, 0, 2, "test"))
    other = pc.connect().compute.create_server(name="not-ours", flavor_id="f-small", image_id="i")
    views = {v.host.name: v for v in adapter.host_views()}
    assert sorted(views) == ["cmp-1", "cmp-2", "cmp-3"]
    v1 = views["cmp-1"].host
    assert (v1.vcpus, v1.ram_mb, v1.cpu_allocation_ratio, v1.zone) == (4, 65536, 4.0, "az1")
    assert views["cmp-2"].host.zone == "az2"
    placed = {sid: pc.fake.host_of(sid) for sid in pc.fake.servers}
    for name, v in views.items():
        here = sorted(sid for sid, h in placed.items() if h == name)
        assert sorted(v.vms) == here
        assert v.vcpus_used == len(here) and v.ram_used == 2048 * len(here)
        for vm, group in zip(v.vms, v.groups, strict=True):
            assert group == ("" if vm == other.id else "web")
    assert sum(len(v.vms) for v in views.values()) == 3


@pytest.mark.parametrize(
    ("policy", "expected"),
    # spread balances the two zones first, then the hosts in each
    [("spread", [2, 2, 1, 1]), ("pack", [6]), ("interference_aware", [3, 3])],
)
def test_engine_places_a_nova_group_on_placement_hosts(
    placement_cloud: PlacementCloud, policy: str, expected: list[int]
) -> None:
    pc = placement_cloud
    hosts(pc, 4)
    adapter = nova(pc)
    # 150 req/s with 100 per instance: each instance is predicted at its 1 vCPU cap
    b = GroupBinding(WEB, [Wants(6)], Steady([150.0] * 5), adapter, flavor=SMALL)
    b.placement = build_placement(policy)
    outcome = Engine([b], MemoryStateStore()).tick(T0)[0]
    assert outcome.ok and outcome.action is not None
    planned = Counter(p.host for p in outcome.action.placements)
    assert sorted(planned.values(), reverse=True) == expected
    assert on_hosts(pc) == planned  # the real Placement holds each server where planned
    versions = [tuple(map(int, mv.split()[1].split("."))) for mv in pc.fake.microversions if mv]
    assert max(versions) >= (2, 74)  # the host field needs 2.74
    assert adapter.status(WEB).ready == 6


def test_a_placement_nova_refuses_is_a_failed_boot_the_engine_records(
    placement_cloud: PlacementCloud,
) -> None:
    pc = placement_cloud
    hosts(pc, 1, vcpus=1, cpu_ratio=1.0)
    adapter = nova(pc)
    adapter.scale(ScaleAction("web", "web-1", T0, 0, 1, "fills the only host"))
    store = MemoryStateStore()
    b = GroupBinding(WEB, [Wants(2)], Steady([50.0]), adapter, flavor=SMALL)
    b.placement = build_placement("pack")
    outcome = Engine([b], store).tick(T0 + timedelta(minutes=1))[0]
    # pack finds no host with room: the instance is left to Nova, which finds none either
    assert outcome.action is not None and outcome.action.placements == (Placement(),)
    assert outcome.stage == "act" and "No valid host was found" in (outcome.error or "")
    assert on_hosts(pc) == Counter({"cmp-1": 1})
    assert adapter.status(WEB).ready == 1  # the ERROR server was deleted after its fault


def test_booting_on_a_full_host_is_no_valid_host(placement_cloud: PlacementCloud) -> None:
    pc = placement_cloud
    hosts(pc, 2, vcpus=1, cpu_ratio=1.0)
    adapter = nova(pc)
    adapter.scale(ScaleAction("web", "web-1", T0, 0, 1, "t", placements=(Placement("cmp-1"),)))
    with pytest.raises(CloudError, match="No valid host was found"):
        adapter.scale(ScaleAction("web", "web-2", T0, 1, 2, "t", placements=(Placement("cmp-1"),)))
    assert on_hosts(pc) == Counter({"cmp-1": 1})  # the refused boot holds nothing


def rounds(mode: str, caps: MigrationCaps, stored: list[dict]) -> RebalanceRound:
    return RebalanceRound(
        InterferenceAwarePlacement(0.8, 0.95),
        Consolidation(0.7, 32),
        caps,
        timedelta(hours=1),
        mode,  # type: ignore[arg-type]
        lambda group, rec: stored.append(dict(rec, moves=[dict(m) for m in rec["moves"]])),
    )


def spread_out(pc: PlacementCloud, n: int) -> NovaAdapter:
    names = hosts(pc, n)
    adapter = nova(pc)
    places = tuple(Placement(h) for h in names)
    adapter.scale(ScaleAction("web", "web-1", T0, 0, n, "one a host", placements=places))
    assert on_hosts(pc) == Counter(dict.fromkeys(names, 1))
    return adapter


def test_a_plan_is_recorded_and_nothing_moves_in_plan_mode(
    placement_cloud: PlacementCloud,
) -> None:
    pc = placement_cloud
    adapter = spread_out(pc, 3)
    stored: list[dict] = []
    rec = rounds("plan", MigrationCaps(), stored).run(
        T0, "web", SMALL, adapter, {"web": Demand(0.2, 0.01)}
    )
    assert rec["status"] == "planned" and len(rec["moves"]) == 2
    assert rec["efficacy"]["hosts_released"] == 2 and len(rec["released"]) == 2
    assert all(m["reason"] == "consolidate" for m in rec["moves"])
    assert stored[-1] == rec and not pc.fake.migrations
    assert on_hosts(pc) == Counter({"cmp-1": 1, "cmp-2": 1, "cmp-3": 1})


def test_an_applied_plan_moves_the_allocations_in_placement(
    placement_cloud: PlacementCloud,
) -> None:
    pc = placement_cloud
    adapter = spread_out(pc, 3)
    stored: list[dict] = []
    rec = rounds("apply", MigrationCaps(), stored).run(
        T0, "web", SMALL, adapter, {"web": Demand(0.2, 0.01)}
    )
    assert rec["status"] == "applied"
    assert [m["outcome"] for m in rec["moves"]] == ["done", "done"]
    assert [s["status"] for s in stored][:2] == ["planned", "applying"]
    (kept,) = set(pc.fake.compute_hosts) - set(rec["released"])
    assert on_hosts(pc) == Counter({kept: 3})  # Placement: both moved VMs now on ``kept``
    assert all(pc.fake.host_of(m["vm"]) == kept for m in rec["moves"])
    assert [m["status"] for m in pc.fake.migrations] == ["completed", "completed"]
    views = {v.host.name: v for v in adapter.host_views()}
    assert views[kept].vcpus_used == 3 and all(not views[h].vms for h in rec["released"])


def test_caps_defer_what_one_round_may_not_move(placement_cloud: PlacementCloud) -> None:
    pc = placement_cloud
    adapter = spread_out(pc, 3)
    rec = rounds("apply", MigrationCaps(per_round=1, per_host=16), []).run(
        T0, "web", SMALL, adapter, {"web": Demand(0.2, 0.01)}
    )
    assert len(rec["moves"]) == 1 and rec["deferred"] == 1
    assert sorted(on_hosts(pc).values()) == [1, 2]


def test_a_failed_live_migration_is_recorded_and_the_server_stays(
    placement_cloud: PlacementCloud,
) -> None:
    pc = placement_cloud
    adapter = spread_out(pc, 2)
    (sid,) = [s for s, h in ((s, pc.fake.host_of(s)) for s in pc.fake.servers) if h == "cmp-1"]
    # another tenant fills cmp-2 behind the plan's back: Placement refuses the move
    compute = pc.connect().compute
    for k in range(15):
        compute.create_server(name=f"squat-{k}", flavor_id="f-small", image_id="i",
                              hypervisor_hostname="cmp-2")  # fmt: skip
    with pytest.raises(CloudError, match="still on cmp-1"):
        adapter.live_migrate(sid, "cmp-2")
    assert pc.fake.host_of(sid) == "cmp-1" and pc.fake.migrations[-1]["status"] == "error"


# ---------------------------------------------------------------- a project without admin


def test_a_member_project_cannot_read_hosts_and_start_up_says_where(
    placement_cloud: PlacementCloud,
) -> None:
    pc = placement_cloud
    hosts(pc, 2)
    member = f"test-{MEMBER_USER}"
    with pytest.raises(PlacementAccessDenied, match="HTTP 403"):
        nova(pc, user=member).host_views()
    cloud = CloudConfig.model_validate(
        {"kind": "nova", "cloud": member, "nova": {"image": "img-1", "placement": "hosts"}}
    )
    group = GroupConfig(name="web", max_size=4, placement="spread")
    with pytest.raises(ConfigError) as err:
        build_cloud(cloud, [group], conn=pc.connect(member))
    assert err.value.errors[0].startswith("cloud.nova.placement: hosts needs the admin role")


def test_a_member_project_gets_server_groups_instead(placement_cloud: PlacementCloud) -> None:
    pc = placement_cloud
    hosts(pc, 3)
    cloud = CloudConfig.model_validate(
        {"kind": "nova", "cloud": f"test-{MEMBER_USER}",
         "nova": {"image": "img-1", "placement": "hints", "boot_timeout": "0s"}}
    )  # fmt: skip
    group = GroupConfig(name="web", max_size=4, placement="spread")
    adapter = build_cloud(cloud, [group], conn=pc.connect(f"test-{MEMBER_USER}"))
    assert "host_views" not in adapter.capabilities
    adapter.scale(ScaleAction("web", "web-1", T0, 0, 3, "t"))
    (sg,) = pc.fake.server_groups.values()
    assert sg["policy"] == "soft-anti-affinity" and len(sg["members"]) == 3
    assert on_hosts(pc) == Counter({"cmp-1": 1, "cmp-2": 1, "cmp-3": 1})
    fleet = adapter.fleet(WEB)
    assert all(i.host is None for i in fleet)  # a member sees no host names


def test_spread_with_max_server_per_host_is_hard_anti_affinity(
    placement_cloud: PlacementCloud,
) -> None:
    pc = placement_cloud
    hosts(pc, 2)
    adapter = nova(pc, mode="hints", max_server_per_host=2, boot_timeout=timedelta(0))
    adapter.scale(ScaleAction("web", "web-1", T0, 0, 5, "t"))
    (sg,) = pc.fake.server_groups.values()
    assert sg["policy"] == "anti-affinity" and sg["rules"] == {"max_server_per_host": 2}
    assert on_hosts(pc) == Counter({"cmp-1": 2, "cmp-2": 2})
    assert adapter.status(WEB).booting + adapter.status(WEB).failed == 5
    assert sum(1 for s in pc.fake.servers.values() if s.get("no_valid_host")) == 1
