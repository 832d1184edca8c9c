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
from pathlib import Path
from typing import Any

from autoscaler.config import Config, GroupConfig
from autoscaler.daemon.observed_cloud import ObservedCloud
from autoscaler.daemon.observed_source import ObservedSource
from autoscaler.daemon.retraining import inline_retraining, retrainer_for
from autoscaler.engine import Engine, GroupBinding
from autoscaler.interfaces import (
    ForecastProvider,
    ForecastPublisher,
    Retrainer,
    StateStore,
    World,
)
from autoscaler.recent_loads import RecentLoads

MODELS_DIR = "models"  # the model store's folder in the state directory

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
    config: Config,
    source_timeout: timedelta | None,
    forecasts: ForecastFactory | None = None,
    recent: RecentLoads | None = None,
    models: object = None,
    on_source_call: Callable[[float], None] | None = None,
    on_cloud_call: Callable[[str, float], None] | None = None,
    record_plan: Callable[[str, dict], None] | None = None,
) -> GroupRuntime:
    """Wire one group of ``config`` through the registry's ``build_binding`` (the call
    the simulator makes), on the world's source and cloud. ``forecasts`` replaces the
    configured forecast provider (tests); ``recent`` is the map of every group's latest
    load that all groups' engines share, so that placement sees the load of the other
    groups on a host; ``models`` (a ``ModelStore``) keeps its fitted forecasters across
    restarts. ``on_source_call(seconds)`` and ``on_cloud_call(operation, seconds)`` hear
    how long each metric-source and cloud call took; ``record_plan`` keeps rebalance
    plans. Raises ``WorldError`` or ``ValueError`` (e.g. an oracle policy)."""
    from autoscaler.registry import build_binding

    inline = bool(getattr(world, "refit_inline", False))
    db_path = getattr(state, "path", None)
    if models is None and db_path is not None:  # beside state.db: <state dir>/models
        from autoscaler.forecasters.store import ModelStore

        models = ModelStore(Path(db_path).parent / MODELS_DIR)
    source = ObservedSource(world.source_for(cfg), source_timeout, on_call=on_source_call)
    cloud = ObservedCloud(world.cloud_for(cfg), on_call=on_cloud_call)
    # a world whose metric changes what an instance serves (the serving cloud) says so
    spec_for = getattr(world, "spec_for", None)
    # and one that measures a latency the config's metric does not name (serving) too
    latency_for = getattr(world, "latency_source_for", None)
    binding = build_binding(
        config,
        cfg,
        source=source,
        cloud=cloud,
        spec=spec_for(cfg) if spec_for is not None else None,
        latency_source=latency_for(cfg) if latency_for is not None else None,
        refit_inline=inline,
        model_store=models,
        record_plan=record_plan,
    )
    if forecasts is not None:
        binding.forecaster = forecasts(cfg)
    provider = binding.forecaster
    retrainer = (
        inline_retraining(provider, cfg.name)
        if inline and forecasts is None
        else retrainer_for(provider, cfg.name)
    )
    # Worlds that publish forecasts (Monasca) say so; the others have no such method.
    publisher_for = getattr(world, "publisher_for", None)
    publisher = publisher_for(cfg) if publisher_for is not None else None
    engine = Engine([binding], state, recent=recent if recent is not None else RecentLoads())
    return GroupRuntime(cfg, engine, source, cloud, retrainer, publisher)
