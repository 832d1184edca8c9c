"""What the daemon runs against: a clock, a cloud and metric sources for each group.

``SimulatedWorld`` is the embedded default: the configured (or bundled) trace replayed
through ``TraceSource`` and a ``SimCloud`` on a simulated clock running ``speedup``
times faster than real time. ``CloudWorld`` is production: the OpenStack adapters and
Prometheus/Monasca sources built by ``autoscaler.registry``, on the wall clock.
``load_world`` picks the world for a config. Nothing in the environment can replace it
(no code is loaded from outside the package): tests pass their own world to the daemon.

Both worlds build their groups' bindings through ``autoscaler.registry.build_binding``
(see ``daemon.groups``); a world supplies only the metric source, the cloud and the
clock, and says when each group's next tick is (``tick_time``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np

from autoscaler.config import Config, ConfigError, GroupConfig
from autoscaler.daemon.clock import SimulatedClock
from autoscaler.interfaces import CloudAdapter, ForecastPublisher, MetricSource, World
from autoscaler.model import (
    CloudError,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    ScaleAction,
)
from autoscaler.placement.hosts import Flavor, HostView

REPLAY_DAYS = 7
MAX_REPLAY_SAMPLES = 500_000


class WorldError(Exception):
    """The configured cloud or sources cannot be set up; one line for the user.

    The message says what is wrong but not which group: the caller that knows the
    group (start-up, reload) names it once.
    """


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
    with the config's ``hosts`` (shared by every group) when it has any. Each group
    boots with its own boot delay and random stream and keeps its own time, and ticks
    on its own grid from the trace's start (``tick_time``): the same ticks, on the same
    inputs, as ``autoscaler simulate`` gives it. ``monotonic`` drives the simulated
    clock (injectable for tests)."""

    refit_inline = True

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
        self.start = self.trace.series.index[0].to_pydatetime()
        self.clock = SimulatedClock(self.start, speedup or config.daemon.speedup, monotonic)
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
        self._loads: dict[str, np.ndarray] = {}
        self._ticks: dict[str, int] = {}

    def _load(self, group: GroupConfig) -> np.ndarray:
        """The group's load per second (scaled as ``simulate`` scales it), the trace
        repeated to last ``REPLAY_DAYS`` of real time (at most ``MAX_REPLAY_SAMPLES``):
        a demo left running keeps scaling."""
        from autoscaler.config.policy_checks import spacing_problem
        from autoscaler.registry import scaled_load

        load = self._loads.get(group.name)
        if load is None:
            problem = spacing_problem(group, self.trace.step)
            if problem is not None:
                raise WorldError(problem)
            try:
                once, _ = scaled_load(self.trace.values, self.config, group)
            except ValueError as exc:
                raise WorldError(str(exc)) from None
            wanted = REPLAY_DAYS * 86400 * self.clock.speedup / self.trace.step.total_seconds()
            most = max(1, MAX_REPLAY_SAMPLES // len(once))
            load = np.tile(once, max(1, min(math.ceil(wanted / len(once)), most)))
            self._loads[group.name] = load
        return load

    def source_for(self, group: GroupConfig) -> MetricSource:
        from autoscaler.simulator.source import TraceSource

        return TraceSource(self._load(group), self.start, self.trace.step)

    def cloud_for(self, group: GroupConfig) -> CloudAdapter:
        """The shared cloud, with ``group`` created on first use at its initial size (the
        registry's, as in ``simulate``); on hosts its instances go where its placement
        policy puts them, next to the groups created before. Raises ``WorldError`` when
        they do not fit."""
        from autoscaler.placement.scale_out import plan_scale_out
        from autoscaler.registry import (
            build_boot_delay,
            build_group_placement,
            build_service_model,
            initial_size,
        )

        with self._lock:
            if group.name not in self._sim.groups:
                load = self._load(group)
                boot = build_boot_delay(group.boot_delay)
                service = build_service_model(self.config, group)
                size = initial_size(group.spec(), boot, load, self.trace.step, service)
                placement, flavor = build_group_placement(self.config, group)
                flavor = flavor or Flavor(group.flavor)
                where = (
                    plan_scale_out(placement, group.name, flavor, size, self._sim.host_views())
                    if placement is not None
                    else ()
                )
                try:
                    self._sim.create_group(
                        group.name,
                        size,
                        self.start,
                        flavor,
                        where,
                        boot_delay=boot,
                        seed=self.config.simulation.seed,
                    )
                except CloudError as exc:
                    raise WorldError(str(exc)) from None
                self._sim.attach_demand(group.name, load, self.start, self.trace.step)
        return self._cloud

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        """The next point of the group's grid (trace start + k * interval): ticks land on
        the trace's steps whatever the scheduler's jitter, as in the simulator."""
        with self._lock:
            k = self._ticks.get(group, 0)
            self._ticks[group] = k + 1
        return self.start + k * interval

    def advance(self, now: datetime, group: str | None = None) -> None:
        with self._lock:
            self._sim.advance(now, group)


class CloudWorld:
    """A real cloud (Nova, Heat or Senlin through openstacksdk) and real metric sources
    (Prometheus, Monasca) on the wall clock. One authenticated connection serves every
    group; each group gets its own adapter, so a reload can add one without the others.
    """

    refit_inline = False

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
        from autoscaler.registry import build_cloud

        try:
            return build_cloud(self.config.cloud, [group], conn=self._connection())
        except (CloudError, ConfigError, ValueError) as exc:
            raise WorldError(_one_line(exc)) from None

    def source_for(self, group: GroupConfig) -> MetricSource:
        from autoscaler.registry import build_source

        if group.metric.source == "simulated":
            raise WorldError("metric.source simulated needs cloud.kind simulated")
        try:
            return build_source(group.metric, self.config.cloud, where=f"{group.name}.metric")
        except (CloudError, ConfigError, ValueError) as exc:
            raise WorldError(_one_line(exc)) from None

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        return None

    def publisher_for(self, group: GroupConfig) -> ForecastPublisher | None:
        """Monasca's forecast publisher when the group asks for one (``publish_forecast``)."""
        from autoscaler.registry import build_forecast_publisher

        try:
            return build_forecast_publisher(group.metric, self.config.cloud)
        except (CloudError, ConfigError, ValueError) as exc:
            raise WorldError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return "; ".join(exc.errors)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_world(config: Config) -> World:
    """The world for ``config``. Raises ``WorldError`` for clouds this build cannot reach."""
    if config.cloud.kind == "simulated" and config.serving is not None:
        from autoscaler.daemon.serving_world import ServingWorld

        return ServingWorld(config)
    if config.cloud.kind == "simulated":
        return SimulatedWorld(config)
    return CloudWorld(config)
