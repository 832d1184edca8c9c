"""The scaling policies a group may list under ``policies:`` (a union on ``kind``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from autoscaler.config.base import FrozenModel, Span, Window
from autoscaler.limits import MAX_GROUP_SIZE

# ---------------------------------------------------------------- policies


class ThresholdPolicyConfig(FrozenModel):
    """Reactive step scaling as Heat/Aodh alarms do it."""

    kind: Literal["threshold"] = "threshold"
    upper: float = Field(0.8, gt=0, le=1.5)
    lower: float = Field(0.3, ge=0, lt=1.5)
    periods: int = Field(3, ge=1, le=10_000)
    step_out: int = Field(2, ge=1, le=MAX_GROUP_SIZE)
    step_in: int = Field(1, ge=1, le=MAX_GROUP_SIZE)

    @model_validator(mode="after")
    def _order(self) -> ThresholdPolicyConfig:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class TargetPolicyConfig(FrozenModel):
    """Target tracking as the Kubernetes HPA does it."""

    kind: Literal["target"] = "target"
    target: float = Field(0.7, gt=0, le=1.0)
    tolerance: float = Field(0.1, ge=0, lt=1.0)
    stabilization_down: Span = timedelta(minutes=5)
    max_up_pct: float = Field(100.0, gt=0, le=100_000)
    max_up_pods: int = Field(4, ge=1, le=MAX_GROUP_SIZE)
    max_down_pct: float = Field(100.0, gt=0, le=100.0)


class KpaPolicyConfig(FrozenModel):
    """The Knative Pod Autoscaler's rule on concurrency (see ``autoscaler.policies.kpa``)."""

    kind: Literal["kpa"] = "kpa"
    target: float = Field(0.7, gt=0, le=1e6)
    stable_window: Window = timedelta(seconds=60)
    panic_window: Window = timedelta(seconds=6)
    panic_threshold: float = Field(2.0, gt=1.0, le=1000.0)
    max_scale_up_rate: float = Field(1000.0, gt=1.0, le=100_000.0)
    max_scale_down_rate: float = Field(2.0, gt=1.0, le=100_000.0)
    scale_to_zero_grace: Span = timedelta(seconds=30)

    @model_validator(mode="after")
    def _windows(self) -> KpaPolicyConfig:
        if not timedelta(0) < self.panic_window <= self.stable_window:
            raise ValueError("panic_window must be positive and no longer than stable_window")
        return self


class OraclePolicyConfig(FrozenModel):
    """The offline lower bound: sees the whole trace (simulation only)."""

    kind: Literal["oracle"] = "oracle"


class PredictiveThresholdPolicyConfig(FrozenModel):
    """The OpenStack Monasca baseline: the threshold rule applied to forecast utilisation.

    ``model: linear`` fits a least-squares line to the last ``lookback`` of load and reads
    it ``horizon`` ahead (the published approach); ``model: forecast`` reads the group's
    forecaster instead.
    """

    kind: Literal["predictive_threshold"] = "predictive_threshold"
    upper: float = Field(0.8, gt=0, le=1.5)
    lower: float = Field(0.15, ge=0, lt=1.5)
    periods: int = Field(3, ge=1, le=10_000)
    step_out: int = Field(2, ge=1, le=MAX_GROUP_SIZE)
    step_in: int = Field(1, ge=1, le=MAX_GROUP_SIZE)
    lookback: Window = timedelta(minutes=20)
    horizon: Window = timedelta(minutes=15)
    model: Literal["linear", "forecast"] = "linear"

    @model_validator(mode="after")
    def _order(self) -> PredictiveThresholdPolicyConfig:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        if self.lookback <= timedelta(0) or self.horizon <= timedelta(0):
            raise ValueError("lookback and horizon must be positive")
        return self


class PredictiveTargetPolicyConfig(FrozenModel):
    """Target tracking on a forecast quantile over [now + boot delay, + one interval]."""

    kind: Literal["predictive_target"] = "predictive_target"
    target: float = Field(0.7, gt=0, le=1.0)
    tolerance: float = Field(0.1, ge=0, lt=1.0)
    quantile: float = Field(0.9, gt=0, lt=1)
    stabilization_down: Span = timedelta(minutes=5)
    # whole spare instances: floor(spare x sqrt(n)) more for a load of n instances (0: off)
    spare: float = Field(0.0, ge=0, le=10.0)
    # scale out on the larger of the forecast and the last observed sample
    react: bool = False
    # no spare on a load of at most this many instances' worth (1: none for a lone request)
    spare_above: float = Field(0.0, ge=0, le=MAX_GROUP_SIZE)
    # on a scale-in, keep what the largest observed sample of this long needs (0: off)
    keep_warm: Span = timedelta(0)


class QosPolicyConfig(FrozenModel):
    """The SLO-driven policy: fewest instances whose p95 latency meets the SLO for the upper
    forecast quantile, with a violation feedback loop on the width of the forecast band."""

    kind: Literal["qos"] = "qos"
    # quantile and gain: chosen on tw-KO and GenAI (2-min boot), see docs/policy-quality.md
    quantile: float = Field(0.95, gt=0, lt=1)
    band: float = Field(1.0, gt=0, le=100)
    min_band: float = Field(0.1, gt=0, le=100)
    max_band: float = Field(50.0, gt=0, le=100)
    band_floor: float = Field(0.05, ge=0, lt=1)
    low_water: float = Field(0.95, gt=0, le=1)
    scale_in_window: Window = timedelta(minutes=5)
    feedback: bool = True
    gain: float = Field(0.05, gt=0, lt=1)
    slow_period: Window = timedelta(hours=1)
    # After a sample that needed more instances than were ready: no scale-in for this
    # long, and the group is sized for that sample (0 turns it off).
    panic_window: Span = timedelta(minutes=10)

    @model_validator(mode="after")
    def _bounds(self) -> QosPolicyConfig:
        if not self.min_band <= self.band <= self.max_band:
            raise ValueError("band must lie within [min_band, max_band]")
        return self


class ScheduleEntryConfig(FrozenModel):
    """A minimum group size while ``cron`` (5 fields: minute hour day month weekday) matches."""

    cron: str
    min: int = Field(ge=0, le=MAX_GROUP_SIZE)

    @model_validator(mode="after")
    def _cron(self) -> ScheduleEntryConfig:
        from autoscaler.cron import CronExpr  # parse errors become config errors here

        CronExpr.parse(self.cron)
        return self


class SchedulePolicyConfig(FrozenModel):
    """Cron-style minimums (e.g. weekday mornings); combine it with a load policy."""

    kind: Literal["schedule"] = "schedule"
    timezone: str = "UTC"
    entries: list[ScheduleEntryConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _zone(self) -> SchedulePolicyConfig:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        return self


PolicyConfig = Annotated[
    ThresholdPolicyConfig
    | TargetPolicyConfig
    | KpaPolicyConfig
    | OraclePolicyConfig
    | PredictiveThresholdPolicyConfig
    | PredictiveTargetPolicyConfig
    | QosPolicyConfig
    | SchedulePolicyConfig,
    Field(discriminator="kind"),
]


POLICY_KINDS = frozenset(
    t.model_fields["kind"].default
    for t in PolicyConfig.__origin__.__args__  # type: ignore[attr-defined]
)
