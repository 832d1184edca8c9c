"""Reactive step scaling, the way Heat/Aodh alarms scale an OpenStack group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.model import Decision, PolicyContext
from autoscaler.policies.base import utilization


@dataclass(frozen=True)
class ThresholdPolicy:
    """Scale out by ``step_out`` when utilisation exceeds ``upper`` for ``periods``
    consecutive samples; in by ``step_in`` when it stays below ``lower`` as long.

    Utilisation is the observed load over the capacity of the *ready* instances. Any
    gap among the last ``periods`` samples means hold.
    """

    upper: float = 0.8
    lower: float = 0.3
    periods: int = 3
    step_out: int = 2
    step_in: int = 1
    name: str = "threshold"

    def decide(self, ctx: PolicyContext) -> Decision:
        current = ctx.status.total
        recent = ctx.load.tail(self.periods)
        if len(recent) < self.periods or np.isnan(recent).any():
            return Decision(current, f"fewer than {self.periods} valid samples", self.name)
        util = utilization(recent, ctx.status, ctx.spec)
        if (util > self.upper).all():
            return Decision(
                current + self.step_out,
                f"utilization {util[-1]:.0%} > {self.upper:.0%} for {self.periods} periods",
                self.name,
            )
        if (util < self.lower).all():
            return Decision(
                current - self.step_in,
                f"utilization {util[-1]:.0%} < {self.lower:.0%} for {self.periods} periods",
                self.name,
            )
        return Decision(current, f"utilization {util[-1]:.0%} within band", self.name)
