"""Small pure helpers shared by the scaling policies."""

from __future__ import annotations

import math

import numpy as np

from autoscaler.model import GroupSpec, GroupStatus


def utilization(load: float | np.ndarray, status: GroupStatus, spec: GroupSpec) -> np.ndarray:
    """Load over *ready* capacity; infinite where load arrives and nothing is ready."""
    cap = status.ready * spec.capacity_per_instance
    load_a = np.asarray(load, dtype=float)
    if cap <= 0:
        return np.where(load_a > 0, math.inf, 0.0)
    return load_a / cap


def instances_for(load: float, spec: GroupSpec, target_utilization: float) -> int:
    """The fewest instances that carry ``load`` at ``target_utilization`` each."""
    if not math.isfinite(load) or load <= 0:
        return 0
    return math.ceil(load / (spec.capacity_per_instance * target_utilization) - 1e-9)
