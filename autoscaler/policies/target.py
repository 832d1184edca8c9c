"""Target tracking, the way the Kubernetes Horizontal Pod Autoscaler does it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from autoscaler.model import Decision, PolicyContext
from autoscaler.policies.base import instances_for


@dataclass(frozen=True)
class TargetPolicy:
    """desired = ceil(load / (capacity x target)), i.e. ceil(current x util / target).

    * no change while |util / target - 1| <= ``tolerance`` (HPA's 10 % dead band);
    * scale-down stabilisation: the recommendation is the largest over the last
      ``stabilization_down`` of samples, so a brief dip does not remove instances;
    * rate limits per evaluation: up by at most max(``max_up_pods``, ``max_up_pct`` %),
      down by at most ``max_down_pct`` % of the current count.
    """

    target: float = 0.7
    tolerance: float = 0.1
    stabilization_down: timedelta = timedelta(minutes=5)
    max_up_pct: float = 100.0
    max_up_pods: int = 4
    max_down_pct: float = 100.0
    name: str = "target"

    def decide(self, ctx: PolicyContext) -> Decision:
        current = ctx.status.total
        load = ctx.load.last
        if math.isnan(load):
            return Decision(current, "no current sample", self.name)
        spec = ctx.spec
        if current > 0:
            ratio = load / (current * spec.capacity_per_instance * self.target)
            if abs(ratio - 1.0) <= self.tolerance:
                return Decision(current, f"within tolerance (ratio {ratio:.2f})", self.name)
        desired = instances_for(load, spec, self.target)
        if desired > current:
            limit = max(
                current + self.max_up_pods, math.ceil(current * (1 + self.max_up_pct / 100))
            )
            if desired > limit:
                return Decision(limit, f"wants {desired}, rate-limited to {limit}", self.name)
            return Decision(
                desired, f"load {load:.1f} needs {desired} at {self.target:.0%}", self.name
            )
        if desired < current:
            n = max(1, int(self.stabilization_down / ctx.load.step)) if ctx.load.step else 1
            peak = np.nanmax(ctx.load.tail(n)) if len(ctx.load) else load
            stable = max(desired, instances_for(float(peak), spec, self.target))
            floor = math.floor(current * (1 - self.max_down_pct / 100))
            stable = min(current, max(stable, floor))
            return Decision(
                stable, f"load {load:.1f} needs {desired}; stabilised at {stable}", self.name
            )
        return Decision(current, f"load {load:.1f} needs {desired}", self.name)
