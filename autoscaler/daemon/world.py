"""What the daemon runs against: a clock, a cloud and metric sources for each group.

``SimulatedWorld`` is the embedded default: the configured (or bundled) trace replayed
through ``TraceSource`` and a ``SimCloud`` on a simulated clock running ``speedup``
times faster than real time. ``CloudWorld`` is production: the OpenStack adapters and
Prometheus/Monasca sources built by ``autoscaler.adapters.factory``, on the wall clock. ``load_world`` picks the world for a config; a factory
named in ``$AUTOSCALER_WORLD_FACTORY`` (``module:function``, called with the config)
replaces it, which is how tests and out-of-tree clouds plug in without patching.
"""

from __future__ import annotations

import importlib
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np

from autoscaler.config import Config, ConfigError, GroupConfig
from autoscaler.daemon.clock import SimulatedClock
from autoscaler.interfaces import Clock, CloudAdapter, MetricSource
from autoscaler.model import (
    CloudError,
    Forecast,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    ScaleAction,
)
from autoscaler.placement.hosts import Flavor, HostView

WORLD_FACTORY_ENV = "AUTOSCALER_WORLD_FACTORY"
REPLAY_DAYS = 7
MAX_REPLAY_SAMPLES = 500_000


class WorldError(Exception):
    """The configured cloud or sources cannot be set up; one line for the user.

    The message says what is wrong but not which group: the caller that knows the
    group (start-up, reload) names it once.
    """


class World(Protocol):
    clock: Clock

    def cloud_for(self, group: GroupConfig) -> CloudAdapter:
        """The cloud adapter for ``group``. Raises ``WorldError``."""

    def source_for(self, group: GroupConfig) -> MetricSource:
        """The metric source for ``group``. Raises ``WorldError``."""

    def advance(self, now: datetime) -> None:
        """Bring simulated parts up to ``now`` before a tick (no-op for real clouds)."""


class ForecastPublisher(Protocol):
    def publish(self, metric: str, forecast: Forecast, dimensions: Mapping[str, str]) -> int:
        """Send the forecast to the monitoring system. Raises ``CloudError``."""


class LockedCloud:
    """Serialises every call to a cloud that is not thread-safe (the simulated one)."""

    def __init__(self, cloud: CloudAdapter, lock: threading.Lock) -> None:
        self.cloud = cloud
        self.lock = lock
        self.capabilities = cloud.capabilities

    def status(self, group: GroupSpec) -> GroupStatus:
        with self.lock:
            return self.cloud.status(group)

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        with self.lock:
            return self.cloud.fleet(group)

    def scale(self, action: ScaleAction) -> None:
        with self.lock:
            self.cloud.scale(action)

    def host_views(self) -> Sequence[HostView]:
        """The wrapped cloud's hosts; only called when it declares ``host_views``."""
        with self.lock:
            return self.cloud.host_views()  # type: ignore[attr-defined]


class SimulatedWorld:
    """The trace replayed through the simulated cloud; one ``SimCloud`` for all groups,
    with the config's ``hosts`` (shared by every group) when it has any. ``monotonic``
    drives the simulated clock (injectable for tests)."""

    def __init__(
        self,
        config: Config,
        speedup: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        from autoscaler.registry import build_boot_delay, build_hosts
        from autoscaler.simulator.cloud import SimCloud
        from autoscaler.traces import load_trace

        sim = config.simulation
        self.config = config
        self.trace = load_trace(sim.trace, column=sim.column, fill=sim.fill, resample=sim.step)
        # Start one lookback into the trace so that the first tick sees a full window.
        lookback = max((g.metric.lookback for g in config.groups), default=None)
        start = self.trace.series.index[0].to_pydatetime()
        if lookback is not None and lookback < self.trace.step * (len(self.trace) - 1):
            start += lookback
        self.clock = SimulatedClock(start, speedup or config.daemon.speedup, monotonic)
        first = config.groups[0] if config.groups else None
        boot = build_boot_delay(first.boot_delay) if first else None
        self._sim = SimCloud(
            boot,
            seed=sim.seed,
            failure_rate=sim.boot_failure_rate,
            hosts=build_hosts(config.hosts),
        )
        self._lock = threading.Lock()
        self._cloud = LockedCloud(self._sim, self._lock)
        self._sources: dict[str, MetricSource] = {}

    def _load(self, group: GroupConfig) -> np.ndarray:
        """The group's load per second, the trace repeated to last ``REPLAY_DAYS`` of
        real time (at most ``MAX_REPLAY_SAMPLES``): a demo left running keeps scaling."""
        from autoscaler.simulation import ScenarioError, build_scenario

        cfg = self.config.model_copy(update={"groups": [group]})
        try:
            load = build_scenario(self.trace, cfg, group=group.name).load
        except ScenarioError as exc:
            raise WorldError(str(exc)) from None
        wanted = REPLAY_DAYS * 86400 * self.clock.speedup / self.trace.step.total_seconds()
        repeats = max(1, min(math.ceil(wanted / len(load)), MAX_REPLAY_SAMPLES // len(load)))
        return np.tile(load, repeats)

    def source_for(self, group: GroupConfig) -> MetricSource:
        from autoscaler.simulator.source import TraceSource

        load = self._load(group)
        src = TraceSource(load, self.trace.series.index[0].to_pydatetime(), self.trace.step)
        self._sources[group.name] = src
        return src

    def cloud_for(self, group: GroupConfig) -> CloudAdapter:
        """The shared cloud, with ``group`` created on first use at the size its first
        load needs; on hosts its instances go where its placement policy puts them, next
        to the groups created before. Raises ``WorldError`` when they do not fit."""
        from autoscaler.placement.scale_out import plan_scale_out
        from autoscaler.registry import build_group_placement

        with self._lock:
            if group.name not in self._sim.groups:
                load = self._load(group)
                need = math.ceil(load[0] / (group.capacity_per_instance * 0.7)) if len(load) else 0
                size = min(max(need, group.min_size), group.max_size)
                placement, flavor = build_group_placement(self.config, group)
                flavor = flavor or Flavor(group.flavor)
                where = (
                    plan_scale_out(placement, group.name, flavor, size, self._sim.host_views())
                    if placement is not None
                    else ()
                )
                try:
                    self._sim.create_group(group.name, size, self.clock.now(), flavor, where)
                except CloudError as exc:
                    raise WorldError(str(exc)) from None
                start = self.trace.series.index[0].to_pydatetime()
                self._sim.attach_demand(group.name, load, start, self.trace.step)
        return self._cloud

    def advance(self, now: datetime) -> None:
        with self._lock:
            self._sim.advance(now)


class CloudWorld:
    """A real cloud (Nova, Heat or Senlin through openstacksdk) and real metric sources
    (Prometheus, Monasca) on the wall clock. One authenticated connection serves every
    group; each group gets its own adapter, so a reload can add one without the others.
    """

    def __init__(self, config: Config) -> None:
        from autoscaler.daemon.clock import WallClock

        self.config = config
        self.clock = WallClock()
        self._conn: object | None = None
        self._lock = threading.Lock()

    def _connection(self) -> object:
        from autoscaler.adapters.openstack_connection import connect

        with self._lock:
            if self._conn is None:
                self._conn = connect(self.config.cloud.cloud, self.config.cloud.clouds_file)
            return self._conn

    def cloud_for(self, group: GroupConfig) -> CloudAdapter:
        from autoscaler.adapters.factory import build_cloud

        try:
            return build_cloud(self.config.cloud, [group], conn=self._connection())
        except (CloudError, ConfigError, ValueError) as exc:
            raise WorldError(_one_line(exc)) from None

    def source_for(self, group: GroupConfig) -> MetricSource:
        from autoscaler.adapters.factory import build_source

        if group.metric.source == "simulated":
            raise WorldError("metric.source simulated needs cloud.kind simulated")
        try:
            return build_source(group.metric, self.config.cloud, where=f"{group.name}.metric")
        except (CloudError, ConfigError, ValueError) as exc:
            raise WorldError(_one_line(exc)) from None

    def advance(self, now: datetime) -> None:
        return None

    def publisher_for(self, group: GroupConfig) -> ForecastPublisher | None:
        """Monasca's forecast publisher when the group asks for one (``publish_forecast``)."""
        from autoscaler.adapters.factory import build_forecast_publisher

        try:
            return build_forecast_publisher(group.metric, self.config.cloud)
        except (CloudError, ConfigError, ValueError) as exc:
            raise WorldError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return "; ".join(exc.errors)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_world(config: Config, environ: Mapping[str, str] | None = None) -> World:
    """The world for ``config``. Raises ``WorldError`` for clouds this build cannot reach."""
    env = os.environ if environ is None else environ
    factory = env.get(WORLD_FACTORY_ENV)
    if factory:
        module, _, name = factory.partition(":")
        try:
            fn = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise WorldError(f"${WORLD_FACTORY_ENV}={factory}: {exc}") from None
        return fn(config)
    if config.cloud.kind == "simulated":
        return SimulatedWorld(config)
    return CloudWorld(config)
