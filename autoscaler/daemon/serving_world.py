"""The daemon on the serving scenario: the config's ``serving:`` request trace replayed on
a simulated clock through the serving cluster, the same cluster ``simulate`` uses.

Only the pooled layout runs here: the daemon runs the config's groups, and the pooled
layout's one group is the template group itself; the other layouts expand it into
groups the config does not list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from autoscaler.config import Config, GroupConfig
from autoscaler.daemon.clock import SimulatedClock
from autoscaler.daemon.world import LockedCloud, WorldError
from autoscaler.interfaces import CloudAdapter, MetricSource
from autoscaler.model import GroupSpec
from autoscaler.serving_wiring import ServingWiring, serving_wiring


class ServingWorld:
    """The serving cluster for every group of the pooled layout. Raises ``WorldError``."""

    refit_inline = True  # refits follow simulated time, as in ``simulate``

    def __init__(
        self,
        config: Config,
        speedup: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        from autoscaler.serving_simulation import ServingScenarioError, build_serving_scenario
        from autoscaler.simulator.serving.requests import (
            ServingTraceError,
            load_latencies,
            load_requests,
        )

        sv = config.serving
        if sv is None:
            raise WorldError("the config has no serving: section")
        if sv.layout != "pooled":
            raise WorldError(
                f"serving.layout {sv.layout}: the daemon runs only the pooled layout "
                "(its one group is the config's group; the others expand into groups the "
                "config does not list); simulate runs every layout"
            )
        try:
            trace = load_requests(sv.requests)
            latencies = load_latencies(sv.load_latencies)
            scn = build_serving_scenario(config, trace, latencies)
        except (ServingTraceError, ServingScenarioError) as exc:
            raise WorldError(str(exc)) from None
        self.scenario = scn
        self.cluster = scn.new_cluster()
        self.clock = SimulatedClock(self.cluster.start, speedup or config.daemon.speedup, monotonic)
        self._lock = threading.Lock()
        self._cloud = LockedCloud(self.cluster, self._lock)

    def _known(self, group: GroupConfig) -> None:
        if group.name not in self.cluster.index:
            raise WorldError(
                f"group {group.name}: not the serving template group "
                f"({', '.join(self.cluster.index)})"
            )

    def cloud_for(self, group: GroupConfig) -> CloudAdapter:
        self._known(group)
        return self._cloud

    def _wiring(self, group: GroupConfig) -> ServingWiring:
        self._known(group)
        kinds = [p.kind for p in group.policies]
        scn = self.scenario
        return serving_wiring(group, scn.serving, group.name, kinds, scn.mean_exec)

    def source_for(self, group: GroupConfig) -> MetricSource:
        """The metric ``simulate`` gives these policies (``serving_wiring``)."""
        return self._wiring(group).source(self.cluster, group.name)

    def latency_source_for(self, group: GroupConfig) -> MetricSource | None:
        """The measured wait ``simulate`` gives these policies (``serving.measured_latency``;
        None when off)."""
        return self._wiring(group).latency_source(self.cluster, group.name)

    def spec_for(self, group: GroupConfig) -> GroupSpec:
        """The spec ``simulate`` plans these policies with: on concurrency one replica is
        one request; on the arrival rate it serves 1 / (mean GPU time) a second."""
        return self._wiring(group).spec

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        """The simulated clock's time: requests arrive in continuous time, so ticks
        need no grid."""
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        """Bring the cluster (every group shares it) up to ``now``."""
        with self._lock:
            self.cluster.advance(now)
