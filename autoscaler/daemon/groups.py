"""One configured group at run time: its engine, its source wrapper, its retraining hook.

Each group gets its own ``Engine`` (with one ``GroupBinding``) so that each scheduler
job evaluates exactly its group at its own interval, and a reload can swap one group
without touching the others. All engines share one state store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from autoscaler.config import GroupConfig
from autoscaler.daemon.observed_cloud import ObservedCloud
from autoscaler.daemon.observed_source import ObservedSource
from autoscaler.daemon.retraining import Retrainer, config_forecasts, retrainer_for
from autoscaler.daemon.world import ForecastPublisher, World
from autoscaler.engine import Engine, ForecastProvider, GroupBinding, RecentLoads
from autoscaler.interfaces import StateStore
from autoscaler.placement.hosts import Flavor
from autoscaler.placement.policies import PlacementPolicy
from autoscaler.rebalancing import RebalanceRound

# Builds a group's forecast provider (which may also be its Retrainer), or None.
ForecastFactory = Callable[[GroupConfig], ForecastProvider | None]


@dataclass
class GroupRuntime:
    config: GroupConfig
    engine: Engine
    source: ObservedSource
    cloud: ObservedCloud
    retrainer: Retrainer
    publisher: ForecastPublisher | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: dict[str, Any] | None = None
    config_error: str | None = None
    state_failures: int = 0
    backoff_until: datetime | None = None
    last_progress: float = 0.0  # monotonic time the last tick finished (or was scheduled)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def binding(self) -> GroupBinding:
        return self.engine.groups[0]


def build_group(
    cfg: GroupConfig,
    world: World,
    state: StateStore,
    *,
    source_timeout: timedelta | None,
    forecasts: ForecastFactory | None = None,
    placement: PlacementPolicy | None = None,
    flavor: Flavor | None = None,
    recent: RecentLoads | None = None,
    on_source_call: Callable[[float], None] | None = None,
    on_cloud_call: Callable[[str, float], None] | None = None,
    rebalancer: RebalanceRound | None = None,
) -> GroupRuntime:
    """Wire one group. ``placement`` and ``flavor`` say where its new instances go on a
    cloud that reports hosts (as in the simulator); ``recent`` is the map of every group's
    latest load that all groups' engines share, so that placement sees the load of the
    other groups on a host. ``on_source_call(seconds)`` and ``on_cloud_call(operation,
    seconds)`` hear how long each metric-source and cloud call took. Raises ``WorldError`` or ``ValueError`` (e.g. an oracle
    policy)."""
    from autoscaler.latency_metric import latency_query
    from autoscaler.placement.victims import VictimPolicy
    from autoscaler.registry import build_policy

    policies = [build_policy(p, cfg) for p in cfg.policies]
    source = ObservedSource(world.source_for(cfg), source_timeout, on_call=on_source_call)
    cloud = ObservedCloud(world.cloud_for(cfg), on_call=on_cloud_call)
    provider = (forecasts or config_forecasts)(cfg)
    binding = GroupBinding(
        spec=cfg.spec(),
        policies=policies,
        source=source,
        cloud=cloud,
        query=cfg.metric.query,
        lookback=cfg.metric.lookback,
        forecaster=provider,
        victims=VictimPolicy(cfg.victims),
        utilization_metric=cfg.metric.unit == "utilization",
        placement=placement,
        flavor=flavor,
        # The measured latency comes from the group's own metric source.
        latency_source=source if cfg.metric.latency is not None else None,
        latency_query=latency_query(cfg.metric.latency) if cfg.metric.latency else "",
        rebalancer=rebalancer,
    )
    retrainer = retrainer_for(provider, cfg.name)
    # Worlds that publish forecasts (Monasca) say so; the others have no such method.
    publisher_for = getattr(world, "publisher_for", None)
    publisher = publisher_for(cfg) if publisher_for is not None else None
    engine = Engine([binding], state, recent=recent if recent is not None else {})
    return GroupRuntime(cfg, engine, source, cloud, retrainer, publisher)
