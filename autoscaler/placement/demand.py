"""A scaling group's predicted CPU demand per instance, and hosts' predictions from it.

Pure: the engine calls these to feed ``interference_aware`` placement on scale-out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from autoscaler.placement.hosts import HostView
from autoscaler.placement.policies import Demand


def instance_demand(
    load: np.ndarray, ready: int, capacity_per_instance: float, vcpus: int
) -> Demand | None:
    """One instance's CPU demand in vCPUs: the group's load per ready instance over the
    window (``load`` in the group's load unit per second, NaN for gaps) as a share of
    ``capacity_per_instance``, times the flavor's ``vcpus``. Mean and variance over the
    window's finite samples; the mean is capped at ``vcpus`` (an instance cannot use more
    than it has). None when the window has no finite sample."""
    values = load[np.isfinite(load)]
    if values.size == 0:
        return None
    per_instance = values / max(ready, 1) / capacity_per_instance * vcpus
    return Demand(min(float(per_instance.mean()), float(vcpus)), float(per_instance.var()))


def with_predictions(hosts: Sequence[HostView], demands: Mapping[str, Demand]) -> list[HostView]:
    """``hosts`` with ``predicted_mean``/``predicted_var`` set to the sum over their
    members of their group's per-instance demand (independent loads add their means and
    variances); members of groups without a known demand count as zero."""
    out = []
    for view in hosts:
        mean = var = 0.0
        for group in view.groups:
            d = demands.get(group)
            if d is not None:
                mean += d.mean
                var += d.var
        out.append(
            HostView(
                view.host,
                view.vcpus_used,
                view.ram_used,
                view.gpus_used,
                view.vms,
                view.groups,
                mean,
                var,
            )
        )
    return out
