"""Value types shared by the engine, the policies, the adapters and the simulator.

Every type here is a frozen dataclass (or a plain numpy-backed value) with no I/O.
Times are UTC-aware ``datetime``; durations are ``timedelta``. Load is always the
group's *total demand* in the capacity unit of one instance per second (e.g.
requests/s), so that ``utilization = load / (ready * capacity_per_instance)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    HOLD = "hold"


class SourceError(Exception):
    """A metric source failed: transport, authentication, or an unusable answer."""


class CloudError(Exception):
    """A cloud adapter failed to read or change a group.

    ``retry_after`` (seconds) is set when the cloud asked us to wait (429/409/503).
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ForecastError(Exception):
    """A forecaster cannot fit or predict (too little history, numerical failure)."""


def ensure_utc(t: datetime) -> datetime:
    """Return ``t`` as a UTC-aware datetime; naive datetimes are taken to be UTC."""
    if t.tzinfo is None:
        return t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def all_finite(values: np.ndarray) -> bool:
    """Whether ``values`` is not empty and has no NaN or infinity: two reductions, cheaper
    than a mask on a short window (max and min are NaN when any value is); one sample
    (a tick's new value) is checked as a scalar."""
    n = len(values)
    if n == 1:
        return math.isfinite(values[0])
    if n == 0:
        return False
    return math.isfinite(np.maximum.reduce(values)) and math.isfinite(np.minimum.reduce(values))


@dataclass(frozen=True, slots=True)
class MetricWindow:
    """A regularly spaced window of observations ending at ``end`` (inclusive).

    ``values[-1]`` is the observation at ``end``; ``values[i]`` is at
    ``end - (len(values) - 1 - i) * step``. NaN marks a gap. An empty window has
    ``len(values) == 0``.
    """

    end: datetime
    step: timedelta
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @property
    def last(self) -> float:
        """The newest value, NaN when the window is empty."""
        return float(self.values[-1]) if len(self.values) else math.nan

    def last_valid_age(self) -> timedelta | None:
        """Age of the newest finite value relative to ``end``; None when there is none."""
        if all_finite(self.values):
            return timedelta(0)
        finite = np.flatnonzero(np.isfinite(self.values))
        if finite.size == 0:
            return None
        return (len(self.values) - 1 - int(finite[-1])) * self.step

    def tail(self, n: int) -> np.ndarray:
        return self.values[-n:] if n > 0 else self.values[:0]


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast of ``len(index)`` future steps.

    ``mean`` has one value per step; ``quantiles`` maps a probability in (0, 1) to an
    array of the same length. Quantile arrays are monotone in the probability.
    """

    index: Any  # pandas.DatetimeIndex (kept untyped so that this module needs no pandas)
    mean: np.ndarray
    quantiles: Mapping[float, np.ndarray] = field(default_factory=dict)
    model: str = ""
    note: str = ""

    def __len__(self) -> int:
        return len(self.mean)

    def quantile(self, q: float) -> np.ndarray:
        """The forecast at probability ``q``; the nearest stored quantile if ``q`` is absent.

        Falls back to the mean when no quantiles are stored.
        """
        return pick_quantile(self.quantiles, q, self.mean)


def pick_quantile(quantiles: Mapping[float, Any], q: float, mean: Any) -> Any:
    """``quantiles[q]``; the nearest stored quantile if ``q`` is absent (the first of two
    as near); ``mean`` when none is stored."""
    if q in quantiles:
        return quantiles[q]
    if not quantiles:
        return mean
    nearest = min(quantiles, key=lambda k: abs(k - q))
    return quantiles[nearest]


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """What the engine needs to know about one scaling group (built from config)."""

    name: str
    min_size: int
    max_size: int
    capacity_per_instance: float
    interval: timedelta = timedelta(minutes=1)
    cooldown_up: timedelta = timedelta(minutes=3)
    cooldown_down: timedelta = timedelta(minutes=5)
    max_step_up: int = 1_000_000
    max_step_down: int = 1_000_000
    boot_delay: timedelta = timedelta(minutes=2)
    slo_p95_seconds: float = 0.2
    stale_after: timedelta = timedelta(minutes=5)
    dry_run: bool = False
    flavor: str = "default"
    # Paused by an operator: decisions are computed and recorded, never acted on.
    paused: bool = False


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """What the cloud says about a group right now.

    ``ready`` instances serve load; ``booting`` are billed but not yet serving.
    ``in_flight`` is true while a previous action is still being carried out
    (e.g. a Heat stack in UPDATE_IN_PROGRESS).
    """

    ready: int
    booting: int = 0
    in_flight: bool = False
    failed: int = 0

    @property
    def total(self) -> int:
        return self.ready + self.booting


@dataclass(frozen=True, slots=True)
class Decision:
    """One policy's vote: the instance count it wants, and why.

    ``memory`` lets a pure policy carry state to its next call: the engine stores it
    and hands it back in ``PolicyContext.memory``.
    """

    desired: int
    reason: str
    policy: str = ""
    memory: Any = None


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """Everything a scaling policy may look at for one decision."""

    now: datetime
    spec: GroupSpec
    status: GroupStatus
    load: MetricWindow
    forecast: Forecast | None = None
    memory: Any = None
    # The group's measured p95 latency in seconds, when it names a latency metric and
    # the source answered; None otherwise (policies then infer latency from load).
    latency: MetricWindow | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one new instance goes (host or availability zone), as a placement policy chose."""

    host: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class ScaleAction:
    """A change the engine asks a cloud to make.

    Carries both the absolute target and the delta: Heat scaling policies are
    relative; Nova, Senlin resize and Heat stack updates are absolute.
    ``action_id`` is deterministic per (group, decision time) so that a replay after a
    crash is recognised and never repeated.
    """

    group: str
    action_id: str
    created_at: datetime
    current: int
    target: int
    reason: str
    victims: tuple[str, ...] = ()
    placements: tuple[Placement, ...] = ()

    @property
    def delta(self) -> int:
        return self.target - self.current

    @property
    def direction(self) -> Direction:
        if self.delta > 0:
            return Direction.UP
        if self.delta < 0:
            return Direction.DOWN
        return Direction.HOLD


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """One member of a group's fleet, for victim selection and placement."""

    id: str
    created_at: datetime
    host: str | None = None
    zone: str | None = None
    ready: bool = True
    load: float | None = None


@dataclass(frozen=True, slots=True)
class WindowSeen:
    """What the policies saw in one evaluation, in summary: the metric window after the
    engine cleaned it (garbage samples made gaps, a utilisation metric turned into load)
    and the model whose forecast they read (None: no forecast)."""

    end: datetime
    step: timedelta
    count: int
    gaps: int
    last: float  # NaN when the newest sample is a gap
    mean: float  # of the finite samples; NaN when there is none
    forecast_model: str | None = None

    @staticmethod
    def of(window: MetricWindow, forecast: Forecast | None, *, finite: bool = False) -> WindowSeen:
        """The summary of ``window``; ``finite``: the caller knows that every sample is
        finite and the window not empty (not checked again)."""
        values = window.values
        n = len(values)
        model = forecast.model if forecast is not None else None
        if finite or all_finite(values):  # no gap: the mean is the sum over the count, as numpy's
            mean = float(np.add.reduce(values)) / n
            return WindowSeen(window.end, window.step, n, 0, float(values[-1]), mean, model)
        known = values[np.isfinite(values)]
        return WindowSeen(
            window.end,
            window.step,
            n,
            n - len(known),
            window.last,
            float(known.mean()) if len(known) else math.nan,
            model,
        )


@dataclass(frozen=True, slots=True)
class TickOutcome:
    """The result of evaluating one group in one tick (what the audit log records);
    ``seen``: what its policies saw (None when the tick stopped before reading data)."""

    group: str
    now: datetime
    status: GroupStatus | None
    votes: tuple[Decision, ...]
    combined: int | None
    desired: int | None
    guard: str | None
    action: ScaleAction | None
    error: str | None = None
    stage: str | None = None
    forecast: Forecast | None = None
    seen: WindowSeen | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
