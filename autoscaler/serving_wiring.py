"""What a serving group's policies read: the one choice of metric and spec that both
``simulate`` (``serving_simulation``) and the daemon on the serving cloud
(``daemon/serving_world``) make, so that a config runs the same policies in both.

``qos`` sizes with the M/M/c model, which needs an arrival rate and a service time: when
every policy of a group is such a policy, the group reads the arrival rate (or Little's
rate, ``serving.qos_rate``), one replica serves 1 / (mean GPU time) requests a second and
the SLO the model checks is on the response time. Any other policy reads concurrency
(requests in the system), where one replica is one request and the SLO is the wait's, so
a group that mixes them reads concurrency: one engine evaluates a group's policies on
one metric.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from autoscaler.config import GroupConfig, ServingConfig
from autoscaler.model import GroupSpec
from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.latency import ServingLatencySource
from autoscaler.simulator.serving.source import ServingSource

# the policies that size with the M/M/c model on an arrival rate
RATE_POLICIES = frozenset({"qos"})


@dataclass(frozen=True)
class ServingWiring:
    """One group's serving metric (``ServingSource.METRICS``), the spec its policies
    plan with, the arrival rate's trailing window in intervals and the mean GPU time (s);
    with ``latency_delay`` (seconds; None: off) the measured wait is delivered too,
    ``latency_offset`` added to put it on the scale of the spec's SLO."""

    metric: str
    spec: GroupSpec
    rate_bins: int
    mean_service: float
    latency_delay: float | None = None
    latency_offset: float = 0.0

    def source(self, cluster: ServingCluster, group: str) -> ServingSource:
        return ServingSource(
            cluster, group, self.metric, rate_bins=self.rate_bins, mean_service=self.mean_service
        )

    def latency_source(self, cluster: ServingCluster, group: str) -> ServingLatencySource | None:
        """The measured p95 wait per interval (``serving.measured_latency``), else None."""
        if self.latency_delay is None:
            return None
        return ServingLatencySource(cluster, group, self.latency_delay, self.latency_offset)


def serving_wiring(
    template: GroupConfig,
    serving: ServingConfig,
    name: str,
    kinds: Iterable[str],
    mean_service: float,
) -> ServingWiring:
    """The wiring of group ``name`` (made from ``template``) whose policies are of
    ``kinds``; ``mean_service`` is the trace's mean GPU time per request in seconds
    (positive)."""
    kinds = list(kinds)
    on_rate = bool(kinds) and all(k in RATE_POLICIES for k in kinds)
    spec = replace(template.spec(), name=name)
    slo = serving.slo.total_seconds()
    if on_rate:
        metric = "little_rate" if serving.qos_rate == "little" else "arrival_rate"
        # the response time's SLO: the wait's plus an exponential service's 95th percentile
        spec = replace(
            spec,
            capacity_per_instance=1.0 / mean_service,
            slo_p95_seconds=slo + mean_service * math.log(20),
        )
    else:
        metric = "concurrency"
        spec = replace(spec, capacity_per_instance=1.0, slo_p95_seconds=slo)
    interval = template.interval.total_seconds()
    # the arrival rate's trailing window in whole intervals (0s: each interval's own)
    rate_bins = max(1, round(serving.rate_window.total_seconds() / interval))
    delay = serving.latency_delay.total_seconds() if serving.measured_latency else None
    # the wait is measured; a response-time SLO (on the rate) allows the service on top
    offset = spec.slo_p95_seconds - slo
    return ServingWiring(metric, spec, rate_bins, mean_service, delay, offset)
