"""Every interface of the project, in one place. Implementations live elsewhere.

These are structural (``typing.Protocol``): an implementation need not inherit from
them. See DESIGN.md for the contract of each. Sections: the engine's edges (clock,
metric source, forecaster, policy, cloud, state store); the engine's optional parts
(forecast provider, victims, host inventory, live migration, placement); the daemon's
(world, forecast publisher, retraining hook, HTTP view); the replay simulators'.
The types the annotations name are imported only for type checking: importing this
module loads nothing beyond ``autoscaler.model``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from autoscaler.model import (
    Decision,
    Forecast,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    MetricWindow,
    PolicyContext,
    ScaleAction,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from autoscaler.config import GroupConfig
    from autoscaler.placement.hosts import HostView, VmRequest
    from autoscaler.placement.policies import Demand, InterferenceAwarePlacement, PlacementPlan
    from autoscaler.placement.rebalance import Consolidation, Member, RebalancePlan
    from autoscaler.simulator.gpu.placement import PodRequest
    from autoscaler.simulator.gpu.state import ClusterState
    from autoscaler.simulator.gpu.state import Placement as GpuPlacement


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC-aware."""


@runtime_checkable
class MetricSource(Protocol):
    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        """Values of ``query`` on a sorted UTC index at ``step`` from start to end.

        NaN marks gaps. Raises ``SourceError`` on transport, auth or parse failure.
        """

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        """The same data as a ``MetricWindow`` ending at ``end`` (the engine's fast path)."""


@runtime_checkable
class Forecaster(Protocol):
    name: str
    min_history: int

    def fit(self, y: pd.Series) -> Forecaster:
        """Fit on ``y`` (regular UTC index). Raises ``ForecastError`` when it cannot."""

    def update(self, y: pd.Series) -> Forecaster:
        """Append new observations (after the fitted range) without refitting."""

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        """Forecast ``horizon`` steps after the last observation."""


@runtime_checkable
class ScalingPolicy(Protocol):
    name: str

    def decide(self, ctx: PolicyContext) -> Decision:
        """The instance count this policy wants. Pure: no I/O, no clock, no globals."""


@runtime_checkable
class CloudAdapter(Protocol):
    capabilities: frozenset[str]

    def status(self, group: GroupSpec) -> GroupStatus:
        """The group's size now. Raises ``CloudError``."""

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        """The group's members (for victim selection). Raises ``CloudError``."""

    def scale(self, action: ScaleAction) -> None:
        """Carry out ``action``; idempotent in ``action.action_id``. Raises ``CloudError``."""


class StateStore(Protocol):
    """Where the engine keeps cooldowns, policy memory, the action journal and the audit log."""

    def last_action(self, group: str, direction: str) -> datetime | None: ...

    def policy_memory(self, group: str, policy: str) -> object: ...

    def set_policy_memory(self, group: str, policy: str, memory: object) -> None: ...

    def begin_action(self, action: ScaleAction) -> None: ...

    def finish_action(self, action: ScaleAction, outcome: str) -> None: ...

    def unfinished_actions(self) -> Sequence[ScaleAction]: ...

    def record(self, outcome: object) -> None: ...


# -- the engine's optional parts -------------------------------------------------------


class ForecastProvider(Protocol):
    def forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast | None:
        """A forecast of the group's load after ``now``, or None when none is available."""


class VictimChooser(Protocol):
    def choose_victims(self, n: int, fleet: Sequence[object], now: datetime) -> Sequence[str]:
        """Ids of ``n`` instances to remove."""


class HostInventory(Protocol):
    def host_views(self) -> Sequence[HostView]:
        """Every host with what all groups' instances hold on it. Raises ``CloudError``."""


class MigratingCloud(Protocol):
    """A cloud that reports its hosts and live-migrates a server (the rebalancer's)."""

    def host_views(self) -> list[HostView]: ...

    def live_migrate(self, server_id: str, host: str) -> None: ...


class PlacementPolicy(Protocol):
    name: str

    def choose_host(self, vm: VmRequest, hosts: Sequence[HostView], demand: Demand) -> int | None:
        """Index into ``hosts`` of the host for ``vm``, or None when it fits nowhere."""


# -- the daemon's ------------------------------------------------------------------------


class World(Protocol):
    """What the daemon runs against: a clock, and each group's cloud and metric source."""

    clock: Clock

    def cloud_for(self, group: GroupConfig) -> CloudAdapter:
        """The cloud adapter for ``group``. Raises ``WorldError``."""

    def source_for(self, group: GroupConfig) -> MetricSource:
        """The metric source for ``group``. Raises ``WorldError``."""

    # Whether forecast refits happen inside the tick, on simulated time (deterministic:
    # the simulator's schedule), rather than in the daemon's retraining job.
    refit_inline: bool

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        """When ``group``'s evaluation that is starting now takes place."""

    def advance(self, now: datetime, group: str | None = None) -> None:
        """Bring simulated parts (``group``'s, or all) up to ``now`` before a tick
        (no-op for real clouds)."""


class ForecastPublisher(Protocol):
    def publish(self, metric: str, forecast: Forecast, dimensions: Mapping[str, str]) -> int:
        """Send the forecast to the monitoring system. Raises ``CloudError``."""


class Retrainer(Protocol):
    def retrain(self, group: str, now: datetime) -> None:
        """Refit the group's model on recent data. May be slow; runs in its own job."""

    def model_age(self, now: datetime) -> timedelta | None:
        """Time since the model was last fitted; None when there is no model."""


class DaemonView(Protocol):
    """What the HTTP API reads from (and asks of) the running daemon."""

    def readiness(self) -> tuple[bool, list[str]]: ...

    def notices(self) -> list[str]: ...

    def groups_view(self) -> list[dict[str, Any]]: ...

    def group_view(self, name: str) -> dict[str, Any] | None: ...

    def decisions(self, name: str, last: int) -> list[dict[str, Any]] | None: ...

    def plan(self, name: str) -> dict[str, Any] | None: ...

    def pause(self, name: str, reason: str) -> dict[str, Any] | None: ...

    def resume(self, name: str) -> dict[str, Any] | None: ...


# -- the replay simulators' ------------------------------------------------------------


class ReplayFleet(Protocol):
    """Where the replayed VMs run: ``InMemoryFleet`` (host views kept here) or a real
    cloud's adapter (host views read back from it, moves carried out there). Both return
    the plan as carried out, with every host in the order ``hosts`` were given."""

    def place(
        self,
        policy: PlacementPolicy,
        requests: Sequence[VmRequest],
        hosts: Sequence[HostView],
        demands: Sequence[Demand],
    ) -> PlacementPlan: ...

    def rebalance(
        self,
        policy: InterferenceAwarePlacement,
        hosts: Sequence[HostView],
        members: Mapping[str, Member],
        consolidation: Consolidation | None,
    ) -> RebalancePlan: ...


class GpuPlacementPolicy(Protocol):
    """A GPU fleet's pod placement (the fragmentation replay's policies)."""

    name: str

    def place(
        self, req: PodRequest, state: ClusterState, rng: np.random.Generator
    ) -> GpuPlacement | None: ...
