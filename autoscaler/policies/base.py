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


def staffed(load: float, spec: GroupSpec, spare: float = 0.0, above: float = 0.0) -> float:
    """Instances' worth of ``load`` plus whole spare instances: n + floor(``spare`` x
    sqrt(n)), n = load / capacity, when n is more than ``above`` (else n alone). The spare
    grows with the square root of the load (its counting noise, Halfin-Whitt staffing),
    and whole: a load of one instance or less gets none for ``spare`` < 1, nor for
    ``above`` >= 1, so a lone request does not double its replicas. NaN, infinite and
    non-positive load: 0."""
    if not math.isfinite(load) or load <= 0:
        return 0.0
    n = load / spec.capacity_per_instance
    return n + math.floor(spare * math.sqrt(n) + 1e-9) if spare and n > above else n


def instances_for(
    load: float,
    spec: GroupSpec,
    target_utilization: float,
    spare: float = 0.0,
    above: float = 0.0,
) -> int:
    """The fewest instances that carry ``load`` (plus ``staffed``'s whole spare
    instances, on a load of more than ``above`` instances' worth) at
    ``target_utilization`` each."""
    if not math.isfinite(load) or load <= 0:
        return 0
    if not spare:  # the plain rule, in its own arithmetic (same counts to the last bit)
        return math.ceil(load / (spec.capacity_per_instance * target_utilization) - 1e-9)
    return math.ceil(staffed(load, spec, spare, above) / target_utilization - 1e-9)
