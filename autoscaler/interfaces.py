"""The interfaces that the engine talks to. Implementations live in the sibling packages.

These are structural (``typing.Protocol``): an implementation need not inherit from
them. See DESIGN.md for the contract of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

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
    import pandas as pd


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
