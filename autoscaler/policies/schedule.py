"""Cron-style minimum sizes (e.g. more instances on weekday mornings)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from autoscaler.cron import CronExpr
from autoscaler.model import Decision, PolicyContext


@dataclass(frozen=True)
class ScheduleEntry:
    cron: CronExpr
    minimum: int
    text: str


@dataclass(frozen=True)
class SchedulePolicy:
    """Votes the largest ``minimum`` among the entries whose cron matches now (in
    ``timezone``), or ``min_size`` when none does.

    Meant to be combined with a load policy: the engine keeps the largest vote, so this
    vote is a floor that never blocks the others from scaling out, and on its own it
    holds the group at the scheduled minimum.
    """

    entries: tuple[ScheduleEntry, ...] = ()
    timezone: str = "UTC"
    name: str = "schedule"

    def decide(self, ctx: PolicyContext) -> Decision:
        local = ctx.now.astimezone(ZoneInfo(self.timezone))
        active = [e for e in self.entries if e.cron.matches(local)]
        if not active:
            return Decision(ctx.spec.min_size, "no schedule entry active", self.name)
        best = max(active, key=lambda e: e.minimum)
        floor = max(best.minimum, ctx.spec.min_size)
        return Decision(floor, f"schedule {best.text!r} wants at least {floor}", self.name)
