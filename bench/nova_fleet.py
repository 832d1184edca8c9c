"""The VM replay's fleet on a Nova cloud: fake Nova over a real Placement service, behind
the real Keystone (the integration tests' servers, started here), through ``NovaAdapter``.

Placement decisions are made on host views read from Placement (as the engine does on
scale-out), every VM is booted on its chosen host through Nova (which claims it in
Placement), every rebalance move is a live migration, and the plan handed back to the
replay is rebuilt from what Placement then reports, so the replay scores where the VMs
really are. Needs ``.venv-keystone`` and ``.venv-placement`` (``make test`` makes both).
"""

from __future__ import annotations

import random
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the test servers live in tests/fakes
    sys.path.insert(0, str(REPO))

from autoscaler.adapters.backoff import Backoff  # noqa: E402
from autoscaler.adapters.nova_adapter import NovaAdapter, NovaSettings, server_name  # noqa: E402
from autoscaler.adapters.openstack_connection import connect  # noqa: E402
from autoscaler.model import Placement, ScaleAction  # noqa: E402
from autoscaler.placement.hosts import Host, HostView, VmRequest  # noqa: E402
from autoscaler.placement.policies import (  # noqa: E402
    Demand,
    InterferenceAwarePlacement,
    PlacementPlan,
    PlacementPolicy,
    place,
)
from autoscaler.placement.rebalance import Consolidation, Member, RebalancePlan  # noqa: E402
from autoscaler.placement.rebalance import rebalance as plan_rebalance  # noqa: E402

GROUP = "vms"
T0 = datetime(2011, 3, 3, 1, tzinfo=UTC)


class Cloud:
    """Keystone, Placement and the fake Nova, running; ``fleet`` makes a fresh fleet."""

    def __init__(self, work: Path) -> None:
        from tests.fakes.keystone_server import KeystoneProcess
        from tests.fakes.openstack_fake import FakeOpenStack
        from tests.fakes.placement_client import PlacementClient
        from tests.fakes.placement_server import PlacementProcess

        (work / "keystone").mkdir()
        self.keystone = KeystoneProcess(work / "keystone")
        self.fake = FakeOpenStack(self.keystone.validate)
        self.placement = PlacementProcess(work / "placement", self.keystone)
        self.keystone.register(self.fake.catalog())
        self.clouds = self.keystone.clouds_yaml(work / "clouds.yaml")
        self._client = PlacementClient(self.placement.url, self.keystone.issue_token)

    def fleet(self, hosts: Sequence[Host]) -> NovaFleet:
        """An empty cloud with ``hosts`` as compute nodes, and a fleet on it."""
        self.fake.reset()
        self.fake.placement = self._client
        for h in hosts:
            self.fake.add_compute_host(
                h.name, h.zone, h.vcpus, h.ram_mb, h.cpu_allocation_ratio, h.ram_allocation_ratio
            )
        adapter = NovaAdapter(
            connect("test", str(self.clouds)),
            NovaSettings(image="img", placement="hosts"),
            {GROUP: "m1.small"},
            backoff=Backoff(attempts=3, base=0.01, sleep=lambda s: None, rng=random.Random(0)),
            sleep=lambda s: None,
        )
        return NovaFleet(adapter, [h.name for h in hosts])

    def stop(self) -> None:
        self.fake.reset()
        self.fake.close()
        self.placement.stop()
        self.keystone.stop()


@contextmanager
def nova_cloud() -> Iterator[Cloud]:
    """The servers, stopped on the way out (SIGTERM too: it becomes SystemExit here)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-nova-") as work:
        cloud = Cloud(Path(work))
        try:
            yield cloud
        finally:
            cloud.stop()


class NovaFleet:
    """``autoscaler.vm_replay.Fleet`` through ``NovaAdapter``; VMs are named by trace."""

    def __init__(self, adapter: NovaAdapter, order: list[str]) -> None:
        self.adapter = adapter
        self.order = order  # host order of the replay (Placement lists by name)
        self.server_of: dict[str, str] = {}  # trace name -> server id
        self.name_of: dict[str, str] = {}
        self.migrations = 0
        self.reads = 0

    def views(self, predictions: Mapping[str, Demand] | None = None) -> list[HostView]:
        """Host views as Placement reports them, VMs by trace name, in replay order."""
        self.reads += 1
        by_name = {}
        for v in self.adapter.host_views():
            vms = tuple(self.name_of[c] for c in v.vms)
            mean = sum(predictions[vm].mean for vm in vms) if predictions else 0.0
            var = sum(predictions[vm].var for vm in vms) if predictions else 0.0
            groups = tuple(GROUP for _ in vms)
            by_name[v.host.name] = HostView(
                v.host, v.vcpus_used, v.ram_used, v.gpus_used, vms, groups, mean, var
            )
        return [by_name[name] for name in self.order]

    def place(
        self,
        policy: PlacementPolicy,
        requests: Sequence[VmRequest],
        hosts: Sequence[HostView],
        demands: Sequence[Demand],
    ) -> PlacementPlan:
        """One scale-out of every VM: planned on Placement's views, booted through Nova."""
        plan = place(policy, requests, self.views(), demands)
        chosen = dict(plan.assignments)
        placements = tuple(Placement(chosen.get(r.id)) for r in requests)
        action = ScaleAction(GROUP, "replay-boot", T0, 0, len(requests), "replay", (), placements)
        self.adapter.scale(action)
        ids = self.adapter.server_ids(GROUP)
        for i, r in enumerate(requests):
            sid = ids[server_name(GROUP, action.action_id, i)]
            self.server_of[r.id], self.name_of[sid] = sid, r.id
        after = self.views({r.id: d for r, d in zip(requests, demands, strict=True)})
        where = {vm: v.host.name for v in after for vm in v.vms}
        assigned = tuple((r.id, where[r.id]) for r in requests if r.id in where)
        unplaced = tuple(r.id for r in requests if r.id not in where)
        return PlacementPlan(assigned, unplaced, tuple(after))

    def rebalance(
        self,
        policy: InterferenceAwarePlacement,
        hosts: Sequence[HostView],
        members: Mapping[str, Member],
        consolidation: Consolidation | None,
    ) -> RebalancePlan:
        """Plan on Placement's views, live-migrate each move. Placement's views must hold
        every VM where the replay has it (the previous round's moves really happened):
        otherwise ``RuntimeError``."""
        demands = {vm: m.demand for vm, m in members.items()}
        views = self.views(demands)
        mine = {v.host.name: sorted(v.vms) for v in hosts}
        theirs = {v.host.name: sorted(v.vms) for v in views}
        if mine != theirs:
            wrong = sorted(h for h in mine if mine[h] != theirs.get(h))
            raise RuntimeError(f"Placement disagrees with the replay on hosts {wrong[:5]}")
        plan = plan_rebalance(policy, views, members, consolidation)
        for move in plan.moves:
            self.adapter.live_migrate(self.server_of[move.vm], move.target)
            self.migrations += 1
        return plan


def placement_state(fleet: NovaFleet) -> dict[str, Any]:
    """What the fleet did, for the bench's table."""
    return {"host_view_reads": fleet.reads, "live_migrations": fleet.migrations}
