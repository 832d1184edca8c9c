"""The one place that builds runtime objects from configuration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from autoscaler.placement.migration_plan import MigrationCaps
from autoscaler.placement.policies import (
    InterferenceAwarePlacement,
    PlacementPolicy,
    build_placement,
)
from autoscaler.placement.rebalance import Consolidation
from autoscaler.policies.kpa import KpaPolicy
from autoscaler.policies.predictive_target import PredictiveTargetPolicy
from autoscaler.policies.predictive_threshold import PredictiveThresholdPolicy
from autoscaler.policies.qos import QosPolicy
from autoscaler.policies.schedule import ScheduleEntry, SchedulePolicy
from autoscaler.policies.target import TargetPolicy
from autoscaler.policies.threshold import ThresholdPolicy
from autoscaler.rebalancing import RebalanceRound
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


def build_rebalancer(
    config: Config, group: GroupConfig, record: Callable[[str, dict], None]
) -> RebalanceRound | None:
    """The group's live-migration rounds: only for interference_aware on a Nova cloud
    whose hosts come from Placement, unless ``placement.rebalance`` is off."""
    pc = config.placement
    nova = config.cloud.nova
    if (
        group.placement != "interference_aware"
        or config.cloud.kind != "nova"
        or nova is None
        or nova.placement != "hosts"
        or pc.rebalance == "off"
    ):
        return None
    below = pc.consolidation_target(pc.contention_threshold)
    return RebalanceRound(
        InterferenceAwarePlacement(pc.contention_threshold, pc.quantile),
        Consolidation(below, pc.consolidate_max_moves) if below is not None else None,
        MigrationCaps(pc.migrations_per_round, pc.migrations_per_host),
        pc.rebalance_every,
        pc.rebalance,
        record,
    )


def build_group_placement(
    config: Config, group: GroupConfig
) -> tuple[PlacementPolicy | None, Flavor | None]:
    """The group's placement policy (None without one, or without hosts on the simulated
    cloud: the cloud places; Nova's hosts come from Placement)
    and its flavor's sizes (None when the flavor is not in ``config.flavors``)."""
    flavor = config.flavors.get(group.flavor)
    placement = (
        build_placement(
            group.placement, config.placement.contention_threshold, config.placement.quantile
        )
        if group.placement is not None and (config.hosts or config.cloud.kind == "nova")
        else None
    )
    return placement, build_flavor(group.flavor, flavor) if flavor else None
