"""The one place that builds runtime objects from configuration.

Policies, forecasters, placement, victims, the initial size and boot delays are built
here; metric sources, cloud adapters and forecast publishers in ``registry_adapters``
and re-exported here: the daemon's worlds and the simulator ask this module only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

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
    WarmSetConfig,
)
from autoscaler.cron import CronExpr
from autoscaler.engine import GroupBinding
from autoscaler.forecasting import HistoryReader, RetrainingForecastProvider
from autoscaler.interfaces import CloudAdapter, Forecaster, MetricSource, ScalingPolicy
from autoscaler.latency_metric import latency_query
from autoscaler.model import ForecastError, GroupSpec
from autoscaler.placement.hosts import Flavor, Host
from autoscaler.placement.migration_plan import MigrationCaps
from autoscaler.placement.policies import (
    InterferenceAwarePlacement,
    PlacementPolicy,
    build_placement,
)
from autoscaler.placement.rebalance import Consolidation
from autoscaler.placement.victims import VictimPolicy
from autoscaler.policies.kpa import KpaPolicy
from autoscaler.policies.oracle import boot_steps, oracle_plan
from autoscaler.policies.predictive_target import PredictiveTargetPolicy
from autoscaler.policies.predictive_threshold import PredictiveThresholdPolicy
from autoscaler.policies.qos import QosPolicy
from autoscaler.policies.schedule import ScheduleEntry, SchedulePolicy
from autoscaler.policies.target import TargetPolicy
from autoscaler.policies.threshold import ThresholdPolicy
from autoscaler.rebalancing import RebalanceRound
from autoscaler.registry_adapters import build_cloud as build_cloud
from autoscaler.registry_adapters import build_forecast_publisher as build_forecast_publisher
from autoscaler.registry_adapters import build_source as build_source
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.scoring import ServiceModel, required_instances
from autoscaler.simulator.serving.warm_set import WarmSetPolicy

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


def wants_forecast(group: GroupConfig, configs: Sequence[PolicyConfig]) -> bool:
    """Whether the group gets a forecaster: a policy reads forecasts, or it runs in
    advisor mode (whose point is to export the forecast)."""
    return group.mode == "advisor" or any(needs_forecast(c) for c in configs)


def build_forecaster(model: str, step: timedelta, params: dict) -> Forecaster:
    """A fresh, unfitted forecaster from ``autoscaler.forecasters`` (``level``, the
    daemon's default, included), built as ``backtest`` and the forecast benches score
    it: in the fallback chain, its bands calibrated (conformal; ``params`` may say
    ``calibrated: once`` or ``false``). ``level`` is not calibrated unless asked: its
    bands already follow the recent one-step error and the day's recurrence, and qos
    corrects its band against the violations it sees; conformal bands on top made a
    simulated week 20 times slower and cost qos 7 % more instance-hours on NASA at the
    same violations. Raises ``ForecastError`` for an unknown model, parameter or value
    (the forecast provider then falls back)."""
    from autoscaler.forecasters.registry import build_forecaster as build_model

    if "fallback" in params:
        raise ForecastError("fallback is not a parameter: the fallback chain is always on")
    params = {"calibrated": default_calibration(model), **params}
    return build_model(model, step, fallback=True, **params)


def default_calibration(model: str) -> bool:
    """Whether ``model``'s bands are conformal unless its params say otherwise."""
    return model != "level"


@dataclass(frozen=True)
class ModelRecipe:
    """How to build the group's model, picklable (refits may run in worker processes)."""

    model: str
    params: dict[str, Any]

    def __call__(self, step: timedelta) -> Forecaster:
        return build_forecaster(self.model, step, dict(self.params))

    def first(self) -> ModelRecipe:
        """The recipe of a group's first fit: calibrated with one fit ("once": the model
        itself scored on the held-out days, then brought forward), not two, unless the
        config chose its calibration. A start with many groups and none stored fits
        them all at once; the next refit (``retrain`` later) builds the full one."""
        once = "once" if default_calibration(self.model) else False
        return ModelRecipe(self.model, {"calibrated": once, **self.params})


def build_forecast_provider(
    cfg: ForecasterConfig,
    *,
    inline: bool = True,
    history: HistoryReader | None = None,
    store: object = None,
) -> RetrainingForecastProvider:
    """The group's forecast provider. ``inline`` False runs refits off the tick path (a
    worker thread, or the daemon's retraining job); the simulator refits inline on the
    same schedule. ``history`` reads the training window from the metric source;
    ``store`` (a ``ModelStore``) keeps fitted models across restarts. Off the tick path
    the fits run in the process's worker pool (``fit_pool.shared_pool``)."""
    pool = None
    if not inline:
        from autoscaler.fit_pool import shared_pool

        pool = shared_pool()
        pool.start()
    recipe = ModelRecipe(cfg.model, dict(cfg.params))
    return RetrainingForecastProvider(
        recipe,
        cfg.retrain,
        cfg.train_window,
        cfg.horizon,
        tuple(cfg.quantiles),
        inline=inline,
        history=history,
        store=store,
        fit_pool=pool,
        make_first=recipe.first(),
    )


def build_warm_set(cfg: WarmSetConfig) -> WarmSetPolicy:
    """The serving pool's warm-set policy (which models idle replicas keep loaded)."""
    return WarmSetPolicy(cfg.kind, cfg.half_life.total_seconds(), cfg.switch_ratio)


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


# ---------------------------------------------------------------- group bindings
#
# The daemon and the simulator both get their groups from ``build_binding``; they pass
# in only what differs between them: the metric source, the cloud (and, through the
# world, the clock). Policies, guards' spec, forecaster, placement, victims, initial
# size and boot delay are decided here.


def build_binding(
    config: Config,
    group: GroupConfig,
    *,
    source: MetricSource,
    cloud: CloudAdapter,
    policy_configs: Sequence[PolicyConfig] | None = None,
    policies: Sequence[ScalingPolicy] | None = None,
    spec: GroupSpec | None = None,
    refit_inline: bool = True,
    model_store: object = None,
    latency_source: MetricSource | None = None,
    record_plan: Callable[[str, dict], None] | None = None,
) -> GroupBinding:
    """``group`` of ``config`` wired to ``source`` and ``cloud``. ``policy_configs``
    (default: the group's own) name the voting policies; ``policies`` replaces them
    with ready-made ones (the simulator's oracle, with its ``spec``). The forecaster is
    built only when a policy reads forecasts; ``refit_inline`` False leaves its refits
    to a worker thread; ``model_store`` keeps its fitted models across restarts.
    The measured p95 latency (``group.metric.latency``) is read from ``latency_source``,
    by default the group's own source (a ``latency_source`` given without that metric
    is read too); ``record_plan`` keeps the rebalance plans of a
    group that live-migrates (Nova with Placement hosts). Raises ``ValueError`` for a policy that cannot run here (the oracle outside the
    simulator)."""
    configs = list(group.policies if policy_configs is None else policy_configs)
    voters = list(policies) if policies is not None else [build_policy(c, group) for c in configs]
    query = group.metric.query

    def history(start: datetime, end: datetime, step: timedelta) -> pd.Series:
        return source.query(query, start, end, step)

    forecaster = (
        build_forecast_provider(
            group.forecaster, inline=refit_inline, history=history, store=model_store
        )
        if policies is None and wants_forecast(group, configs)
        else None
    )
    placement, flavor = build_group_placement(config, group)
    latency = group.metric.latency
    return GroupBinding(
        spec=spec or group.spec(),
        policies=voters,
        source=source,
        cloud=cloud,
        query=group.metric.query,
        lookback=group.metric.lookback,
        forecaster=forecaster,
        victims=VictimPolicy(group.victims),
        utilization_metric=group.metric.unit == "utilization",
        placement=placement,
        flavor=flavor,
        # an explicit source serves even without ``metric.latency`` (the serving replay)
        latency_source=(latency_source or source) if latency is not None else latency_source,
        latency_query=latency_query(latency) if latency is not None else "",
        rebalancer=(
            build_rebalancer(config, group, record_plan) if record_plan is not None else None
        ),
    )


def build_service_model(config: Config, group: GroupConfig) -> ServiceModel:
    """The M/M/c model of one of the group's instances (scoring and the initial size)."""
    return ServiceModel(
        mu=group.capacity_per_instance,
        slo_seconds=group.slo.p95_latency.total_seconds(),
        timeout_seconds=config.simulation.request_timeout.total_seconds(),
    )


def scaled_load(
    raw: np.ndarray,
    config: Config,
    group: GroupConfig,
    *,
    peak_instances: int | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, float]:
    """The trace's values as the group's load per second, and the factor used: ``scale``
    multiplies the raw values; otherwise the peak is made to need ``peak_instances``
    instances at full capacity (default from the config). Raises ``ValueError``."""
    if len(raw) < 2:
        raise ValueError("the trace has fewer than two samples")
    if scale is not None and peak_instances is not None:
        raise ValueError("give either --scale or --peak-instances, not both")
    if scale is not None:
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"--scale must be a positive number, not {scale}")
        factor = scale
    else:
        n = peak_instances if peak_instances is not None else config.simulation.peak_instances
        if n < 1:
            raise ValueError(f"--peak-instances must be at least 1, not {n}")
        peak = float(np.max(raw))
        if peak <= 0:
            raise ValueError("the trace is all zero; nothing to scale")
        factor = n * group.capacity_per_instance / peak
    return raw * factor, factor


def initial_size(
    spec: GroupSpec, boot: BootDelay, load: np.ndarray, step: timedelta, service: ServiceModel
) -> int:
    """How many instances a simulated group starts with: what the oracle's plan holds at
    the first step (enough for the load of the first boot delay), within [min, max]."""
    ahead = boot_steps(boot.upper(), step)
    required = required_instances(load[: ahead + 1], service, spec.max_size)
    plan = oracle_plan(required, ahead)
    first = int(plan[0]) if len(plan) else 0
    return min(max(first, spec.min_size), spec.max_size)
