"""The one place that builds runtime objects from configuration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from autoscaler.config import (
    BootDelayConfig,
    Config,
    FlavorConfig,
    ForecasterConfig,
    GroupConfig,
    HostGroupConfig,
    KpaPolicyConfig,
    OraclePolicyConfig,
    PolicyConfig,
    PredictiveTargetPolicyConfig,
    PredictiveThresholdPolicyConfig,
    QosPolicyConfig,
    SchedulePolicyConfig,
    TargetPolicyConfig,
    ThresholdPolicyConfig,
)
from autoscaler.cron import CronExpr
from autoscaler.forecasting import RetrainingForecastProvider
from autoscaler.interfaces import Forecaster, ScalingPolicy
from autoscaler.placement.hosts import Flavor, Host
from autoscaler.placement.policies import PlacementPolicy, build_placement
from autoscaler.policies.kpa import KpaPolicy
from autoscaler.policies.predictive_target import PredictiveTargetPolicy
from autoscaler.policies.predictive_threshold import PredictiveThresholdPolicy
from autoscaler.policies.qos import QosPolicy
from autoscaler.policies.schedule import ScheduleEntry, SchedulePolicy
from autoscaler.policies.target import TargetPolicy
from autoscaler.policies.threshold import ThresholdPolicy
from autoscaler.simulator.boot import BootDelay

# Policies that can be named on the command line, with their default configuration.
POLICY_DEFAULTS: dict[str, PolicyConfig] = {
    "threshold": ThresholdPolicyConfig(),
    "target": TargetPolicyConfig(),
    "kpa": KpaPolicyConfig(),
    "predictive_threshold": PredictiveThresholdPolicyConfig(),
    "predictive_target": PredictiveTargetPolicyConfig(),
    "qos": QosPolicyConfig(),
    "schedule": SchedulePolicyConfig(),
    "oracle": OraclePolicyConfig(),
}


# Policies whose dataclass fields are exactly their config's fields (less ``kind``).
_PLAIN_POLICIES: dict[type, type] = {
    ThresholdPolicyConfig: ThresholdPolicy,
    TargetPolicyConfig: TargetPolicy,
    KpaPolicyConfig: KpaPolicy,
    PredictiveThresholdPolicyConfig: PredictiveThresholdPolicy,
    PredictiveTargetPolicyConfig: PredictiveTargetPolicy,
}


def build_policy(cfg: PolicyConfig, group: GroupConfig | None = None) -> ScalingPolicy:
    """A live policy from its config; ``group`` supplies group-level settings some
    policies need (the qos policy's violation target). The oracle needs the future and
    is built by the simulation itself; asking for it here raises ``ValueError``."""
    settings = {name: getattr(cfg, name) for name in type(cfg).model_fields if name != "kind"}
    if isinstance(cfg, QosPolicyConfig):
        target = group.slo.target_violation_pct if group is not None else 1.0
        return QosPolicy(target_violation_pct=target, **settings)
    plain = _PLAIN_POLICIES.get(type(cfg))
    if plain is not None:
        return plain(**settings)
    if isinstance(cfg, SchedulePolicyConfig):
        entries = tuple(ScheduleEntry(CronExpr.parse(e.cron), e.min, e.cron) for e in cfg.entries)
        return SchedulePolicy(entries, cfg.timezone)
    raise ValueError(f"policy {cfg.kind!r} cannot run outside the simulator")


def needs_forecast(cfg: PolicyConfig) -> bool:
    """Whether the policy reads the group's forecast (so the engine should make one)."""
    if isinstance(cfg, PredictiveThresholdPolicyConfig):
        return cfg.model == "forecast"
    return isinstance(cfg, PredictiveTargetPolicyConfig | QosPolicyConfig)


def build_forecaster(model: str, step: timedelta, params: dict) -> Forecaster:
    """A fresh, unfitted forecaster from ``autoscaler.forecasters`` (``level``, the
    daemon's default, included). Raises ``ForecastError`` for an unknown model,
    parameter or value (the forecast provider then falls back to naive)."""
    from autoscaler.forecasters.registry import build_forecaster as build_model

    return build_model(model, step, **params)


def build_forecast_provider(
    cfg: ForecasterConfig, *, inline: bool = True
) -> RetrainingForecastProvider:
    """The group's forecast provider. ``inline`` False leaves refits to ``refit`` (the
    daemon's retraining job); the simulator refits inline on the same schedule."""

    def make(step: timedelta) -> Forecaster:
        return build_forecaster(cfg.model, step, dict(cfg.params))

    return RetrainingForecastProvider(
        make, cfg.retrain, cfg.train_window, cfg.horizon, tuple(cfg.quantiles), inline=inline
    )


def build_boot_delay(cfg: BootDelayConfig) -> BootDelay:
    return BootDelay(cfg.distribution, cfg.median, cfg.low, cfg.high, cfg.sigma)


def build_hosts(cfgs: Sequence[HostGroupConfig]) -> list[Host]:
    """The simulated cloud's hosts: each section's ``count`` hosts ``prefix-1..N``, the
    zones taken round-robin."""
    return [
        Host(
            f"{hg.prefix}-{k + 1}",
            hg.zones[k % len(hg.zones)],
            hg.vcpus,
            hg.ram_mb,
            hg.gpus,
            hg.cpu_allocation_ratio,
            hg.ram_allocation_ratio,
        )
        for hg in cfgs
        for k in range(hg.count)
    ]


def build_flavor(name: str, cfg: FlavorConfig) -> Flavor:
    return Flavor(name, cfg.vcpus, cfg.ram_mb, cfg.gpus)


def build_group_placement(
    config: Config, group: GroupConfig
) -> tuple[PlacementPolicy | None, Flavor | None]:
    """The group's placement policy (None without one or without hosts: the cloud places)
    and its flavor's sizes (None when the flavor is not in ``config.flavors``)."""
    flavor = config.flavors.get(group.flavor)
    placement = (
        build_placement(
            group.placement, config.placement.contention_threshold, config.placement.quantile
        )
        if group.placement is not None and config.hosts
        else None
    )
    return placement, build_flavor(group.flavor, flavor) if flavor else None
