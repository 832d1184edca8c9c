"""Rebalance rounds on a real cloud: interference_aware's rebalance as a recorded plan of
live migrations, carried out only in ``apply`` mode.

Every ``every`` the round reads the cloud's host views, predicts each host's load from
all the groups on it (as placement on scale-out does), plans with
``plan_migrations`` (only the group's own servers move) and records the plan with its
expected efficacy. In ``apply`` mode the record says ``applying`` before the first
migration and each move's outcome after it, so that a crash in the middle leaves a true
record; the next round plans again from the hosts as they then are, and a migration
whose server already sits on its target sends nothing, so nothing is repeated. A failed
migration stops the round (the hosts are no longer what was planned).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from autoscaler.interfaces import MigratingCloud
from autoscaler.model import CloudError
from autoscaler.placement.demand import with_predictions
from autoscaler.placement.hosts import Flavor, VmRequest
from autoscaler.placement.migration_plan import MigrationCaps, MigrationPlan, plan_migrations
from autoscaler.placement.policies import Demand, InterferenceAwarePlacement
from autoscaler.placement.rebalance import Consolidation, Member

PlanRecord = dict[str, Any]


@dataclass
class RebalanceRound:
    """One group's rebalancing; ``record`` stores a plan record (it is called again as
    the record changes while a plan is applied)."""

    policy: InterferenceAwarePlacement
    consolidation: Consolidation | None
    caps: MigrationCaps
    every: timedelta
    mode: Literal["plan", "apply"]
    record: Callable[[str, PlanRecord], None]
    last_run: datetime | None = field(default=None)

    def due(self, now: datetime) -> bool:
        return self.last_run is None or now - self.last_run >= self.every

    def run(
        self,
        now: datetime,
        group: str,
        flavor: Flavor,
        cloud: MigratingCloud,
        demands: Mapping[str, Demand],
    ) -> PlanRecord:
        """Plan (and in ``apply`` mode carry out) one round; returns the final record.
        Raises ``CloudError`` when the hosts cannot be read; a failed migration is
        recorded, not raised."""
        self.last_run = now
        views = with_predictions(cloud.host_views(), demands)
        members = {
            vm: Member(VmRequest(vm, flavor, g), demands.get(g, Demand()))
            for v in views
            for vm, g in zip(v.vms, v.groups, strict=True)
        }
        ours = {vm for vm, m in members.items() if m.vm.group == group}
        plan = plan_migrations(
            self.policy,
            views,
            members,
            consolidation=self.consolidation,
            caps=self.caps,
            period=self.every,
            movable=ours.__contains__,
        )
        rec = plan_record(group, now, self.mode, plan)
        self.record(group, rec)
        if self.mode != "apply" or not plan.moves:
            return rec
        rec["status"] = "applying"
        self.record(group, rec)
        for move in rec["moves"]:
            try:
                cloud.live_migrate(move["vm"], move["target"])
            except CloudError as exc:
                move["outcome"] = f"failed: {exc}"
                rec["status"] = "failed"
                self.record(group, rec)
                return rec
            move["outcome"] = "done"
            self.record(group, rec)
        rec["status"] = "applied"
        self.record(group, rec)
        return rec


def plan_record(group: str, now: datetime, mode: str, plan: MigrationPlan) -> PlanRecord:
    """The JSON-ready record of a plan (what ``/v1/groups/<g>/plan`` serves)."""
    e = plan.efficacy
    return {
        "group": group,
        "at": now.isoformat(),
        "mode": mode,
        "status": "planned" if plan.moves else "nothing to do",
        "moves": [
            {
                "vm": m.vm,
                "source": m.source,
                "target": m.target,
                "reason": m.reason,
                "outcome": "pending" if mode == "apply" else "not applied (plan mode)",
            }
            for m in plan.moves
        ],
        "deferred": len(plan.deferred),
        "released": list(plan.released),
        "efficacy": {
            "hosts_released": e.hosts_released,
            "contention_minutes_avoided": round(e.contention_minutes_avoided, 1),
            "hot_hosts_before": e.hot_hosts_before,
            "hot_hosts_after": e.hot_hosts_after,
        },
    }
