"""Trace-driven simulation of one scaling group: the real engine against a simulated cloud.

For each policy the same trace is replayed through ``Engine.tick`` with a fresh
``SimCloud`` (same seed), then each step is scored with the M/M/c latency model. When the
config has hosts, the cloud has them too: the group's instances take its flavor's room on
them, placed by the group's placement policy (or the cloud's own choice).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from pydantic import ValidationError

from autoscaler.config import BootDelayConfig, Config, GroupConfig, PolicyConfig, default_group
from autoscaler.config.policy_checks import chosen_policy, spacing_problem
from autoscaler.decisions import DecisionRow, decision_row
from autoscaler.durations import format_duration
from autoscaler.engine import Engine
from autoscaler.interfaces import ScalingPolicy
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import CloudError, GroupSpec, Placement
from autoscaler.placement.hosts import Flavor, Host, HostView
from autoscaler.placement.policies import PlacementPolicy
from autoscaler.placement.scale_out import plan_scale_out
from autoscaler.policies.oracle import OraclePolicy, boot_steps, oracle_plan
from autoscaler.registry import (
    POLICY_DEFAULTS,
    build_binding,
    build_boot_delay,
    build_group_placement,
    build_hosts,
    build_service_model,
    initial_size,
    scaled_load,
)
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud
from autoscaler.simulator.latency_source import ScoredLatencySource
from autoscaler.simulator.scoring import RunScore, ServiceModel, required_instances, score_run
from autoscaler.simulator.source import TraceSource
from autoscaler.traces import Trace

DEFAULT_POLICIES = (
    "threshold",
    "target",
    "predictive_threshold",
    "predictive_target",
    "qos",
    "oracle",
)


class ScenarioError(ValueError):
    """The scenario cannot be simulated (bad scaling, unknown policy)."""


@dataclass(frozen=True)
class Scenario:
    """One group, one trace (as load per second), one cloud model."""

    trace: Trace
    load: np.ndarray
    scale_factor: float
    group: GroupConfig
    spec: GroupSpec
    boot: BootDelay
    price_per_hour: float
    failure_rate: float
    seed: int
    service: ServiceModel
    hosts: tuple[Host, ...] = ()  # none: the cloud has no hosts (unbounded)
    flavor: Flavor | None = None
    placement: PlacementPolicy | None = None  # none: the cloud places new instances
    # With ``group.metric.latency``: how long after a step ends its p95 is readable.
    latency_delay: timedelta = timedelta(minutes=1)
    config: Config | None = None  # the whole config (hosts, flavors, placement settings)

    @property
    def step(self) -> timedelta:
        return self.trace.step

    @property
    def start(self) -> datetime:
        return self.trace.series.index[0].to_pydatetime()


@dataclass(frozen=True)
class PolicyRun:
    name: str
    ready: np.ndarray
    booting: np.ndarray
    actions: int
    score: RunScore
    wall_seconds: float
    hosts_used: np.ndarray | None = None  # per step, when the cloud has hosts
    placement_failures: int = 0
    decisions: tuple[DecisionRow, ...] = ()  # one per tick


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    required: np.ndarray
    runs: dict[str, PolicyRun] = field(default_factory=dict)

    def summary(self) -> dict:
        """The ``summary.json`` document."""
        oracle = self.runs.get("oracle")
        policies = {}
        for name, run in self.runs.items():
            d = run.score.as_dict()
            if oracle is not None and oracle.score.instance_hours > 0:
                d["instance_hours_vs_oracle"] = round(
                    run.score.instance_hours / oracle.score.instance_hours, 4
                )
                d["cost_vs_oracle"] = (
                    round(run.score.cost / oracle.score.cost, 4) if oracle.score.cost else None
                )
            if run.hosts_used is not None and len(run.hosts_used):
                d["hosts_used_mean"] = round(float(run.hosts_used.mean()), 3)
                d["hosts_used_peak"] = int(run.hosts_used.max())
                d["placement_failures"] = run.placement_failures
            d["wall_seconds"] = round(run.wall_seconds, 3)
            policies[name] = d
        scn = self.scenario
        doc = {
            "trace": {
                "name": scn.trace.name,
                "steps": len(scn.load),
                "step": scn.step.total_seconds(),
                "start": scn.start.isoformat(),
                "scale_factor": scn.scale_factor,
                "peak_load_per_s": float(np.max(scn.load)) if len(scn.load) else 0.0,
                "notes": list(scn.trace.notes),
            },
            "group": {
                "name": scn.spec.name,
                "min_size": scn.spec.min_size,
                "max_size": scn.spec.max_size,
                "capacity_per_instance": scn.spec.capacity_per_instance,
                "slo_p95_ms": scn.service.slo_seconds * 1000.0,
                "boot_delay_s": scn.boot.median.total_seconds(),
                "seed": scn.seed,
            },
            "policies": policies,
        }
        if scn.hosts:
            flavor = scn.flavor or Flavor(scn.spec.flavor)
            doc["hosts"] = {
                "count": len(scn.hosts),
                "zones": sorted({h.zone for h in scn.hosts}),
                "placement": scn.placement.name if scn.placement is not None else "cloud",
                "flavor": {
                    "name": flavor.name,
                    "vcpus": flavor.vcpus,
                    "ram_mb": flavor.ram_mb,
                    "gpus": flavor.gpus,
                },
            }
        return doc


def build_scenario(
    trace: Trace,
    config: Config | None = None,
    *,
    group: str | None = None,
    peak_instances: int | None = None,
    scale: float | None = None,
    seed: int | None = None,
    boot_delay: timedelta | None = None,
) -> Scenario:
    """Combine a trace with a group's config. The trace is rescaled linearly: ``scale``
    multiplies the raw values; otherwise the peak is made to need ``peak_instances``
    instances at full capacity (default from the config). Raises ``ScenarioError``."""
    cfg = config or Config()
    if group is not None:
        try:
            gcfg = cfg.group(group)
        except KeyError:
            raise ScenarioError(f"no group {group!r} in the config") from None
    else:
        gcfg = cfg.groups[0] if cfg.groups else default_group()
    if boot_delay is not None:
        gcfg = gcfg.model_copy(update={"boot_delay": boot_override(gcfg, boot_delay)})
    if gcfg.interval > trace.step and gcfg.interval % trace.step:  # ticks fall on steps
        every = format_duration(max(1, round(gcfg.interval / trace.step)) * trace.step)
        raise ScenarioError(
            f"group {gcfg.name}: interval {format_duration(gcfg.interval)} is not a whole number "
            f"of {format_duration(trace.step)} steps (it would be evaluated every {every})"
        )
    problem = spacing_problem(gcfg, trace.step)
    if problem is not None:
        raise ScenarioError(f"group {gcfg.name}: {problem}")
    try:
        load, factor = scaled_load(
            trace.values, cfg, gcfg, peak_instances=peak_instances, scale=scale
        )
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    flavor = cfg.flavors.get(gcfg.flavor)
    placement, sizes = build_group_placement(cfg, gcfg)
    return Scenario(
        trace=trace,
        load=load,
        scale_factor=factor,
        group=gcfg,
        spec=gcfg.spec(),
        boot=build_boot_delay(gcfg.boot_delay),
        price_per_hour=flavor.price_per_hour if flavor else 0.0,
        failure_rate=cfg.simulation.boot_failure_rate,
        seed=cfg.simulation.seed if seed is None else seed,
        service=build_service_model(cfg, gcfg),
        hosts=tuple(build_hosts(cfg.hosts)),
        flavor=sizes,
        placement=placement,
        config=cfg,
    )


def boot_override(
    gcfg: GroupConfig, median: timedelta, option: str = "--boot-delay"
) -> BootDelayConfig:
    """The group's boot delay with ``median`` from ``option``, checked as the config's is
    (copied unchecked, a lognormal 0s made every boot fail; above ``high``, it was clipped)."""
    try:
        return BootDelayConfig.model_validate({**gcfg.boot_delay.model_dump(), "median": median})
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ScenarioError(f"{option} {format_duration(median)}: {msg}") from None


def policy_config(scn: Scenario, name: str) -> PolicyConfig:
    """The group's own configuration of policy ``name``, else its defaults. Raises
    ``ScenarioError`` for an unknown one, or one the group contradicts."""
    try:
        return chosen_policy(scn.group, name, POLICY_DEFAULTS, scn.step)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


def _boot_steps(scn: Scenario) -> int:
    return boot_steps(scn.boot.upper(), scn.step)


def run_policy(
    scn: Scenario,
    name: str,
    required: np.ndarray,
    *,
    progress: Callable[[int], None] | None = None,
) -> PolicyRun:
    """Replay the scenario through the engine with one policy."""
    spec = scn.spec
    policy: ScalingPolicy
    if name == "oracle":
        plan = oracle_plan(np.minimum(required, spec.max_size), _boot_steps(scn))
        policy = OraclePolicy(plan, scn.start, scn.step)
        # The oracle is the physical bound: no cooldowns or step limits hold it back.
        spec = replace(
            spec,
            cooldown_up=timedelta(0),
            cooldown_down=timedelta(0),
            max_step_up=10**9,
            max_step_down=10**9,
            interval=scn.step,
        )
    # "a+b" runs several policies on one group; the engine keeps the safest vote.
    configs = [] if name == "oracle" else [policy_config(scn, part) for part in name.split("+")]
    initial = initial_size(spec, scn.boot, scn.load, scn.step, scn.service)

    cloud = SimCloud(scn.boot, seed=scn.seed, failure_rate=scn.failure_rate, hosts=scn.hosts)
    try:
        cloud.create_group(
            spec.name, initial, scn.start, scn.flavor, _initial_placements(scn, initial)
        )
    except CloudError as exc:
        raise ScenarioError(str(exc)) from None
    cloud.attach_demand(spec.name, scn.load, scn.start, scn.step)
    store = MemoryStateStore()
    n = len(scn.load)
    ready = np.empty(n, dtype=np.int64)
    booting = np.empty(n, dtype=np.int64)
    latency = (
        ScoredLatencySource(
            scn.load, ready, scn.start, scn.step, scn.service, scn.latency_delay, spec.max_size
        )
        if scn.group.metric.latency is not None
        else None
    )
    binding = build_binding(
        scn.config or Config(),
        decision_horizon(scn.group, spec, scn.step),
        source=TraceSource(scn.load, scn.start, scn.step),
        cloud=cloud,
        policy_configs=configs,
        policies=[policy] if name == "oracle" else None,
        spec=spec,
        latency_source=latency,
    )
    engine = Engine([binding], store)

    track_hosts = bool(scn.hosts)
    hosts_used = np.zeros(n if track_hosts else 0, dtype=np.int64)
    every = max(1, round(spec.interval / scn.step))
    now = scn.start
    step = scn.step
    gname = spec.name
    decisions: list[DecisionRow] = []
    t0 = time.perf_counter()
    for i in range(n):
        cloud.advance(now)
        if i % every == 0:
            decisions.extend(decision_row(o) for o in engine.tick(now))
        ready[i], booting[i] = cloud.counts(gname)
        if track_hosts:
            hosts_used[i] = cloud.hosts_used()
        now += step
        if progress is not None and (i & 1023) == 1023:
            progress(1024)
    if progress is not None:
        progress(n % 1024)
    wall = time.perf_counter() - t0
    score = score_run(
        demand=scn.load,
        ready=ready,
        booting=booting,
        actions=cloud.actions,
        step_seconds=step.total_seconds(),
        price_per_hour=scn.price_per_hour,
        model=scn.service,
        required=required,
    )
    return PolicyRun(
        name,
        ready,
        booting,
        cloud.actions,
        score,
        wall,
        hosts_used if track_hosts else None,
        cloud.placement_failures(gname),
        tuple(decisions),
    )


def decision_horizon(group: GroupConfig, spec: GroupSpec, step: timedelta) -> GroupConfig:
    """The group with its forecast horizon cut to what a decision reads: boot delay and
    two cadences (the interval, or the sample ``step`` when samples are coarser; a
    decision covers boot delay and one cadence from now, and now lies less than a step
    after the forecast's first point). A forecast's later steps are published by the
    daemon but read by no policy, and a model's k-step forecast does not depend on how
    far it is asked to look, so the decisions are the same; the simulator skips
    computing the rest (the level model's bands, one per step)."""
    lead = spec.boot_delay + 2 * max(spec.interval, step)
    if group.forecaster.horizon <= lead:
        return group
    return group.model_copy(
        update={"forecaster": group.forecaster.model_copy(update={"horizon": lead})}
    )


def _initial_placements(scn: Scenario, n: int) -> tuple[Placement, ...]:
    """Where the group's placement policy puts its first ``n`` instances on the empty
    hosts (none without a policy: the cloud decides, as for any later instance)."""
    if scn.placement is None or not scn.hosts:
        return ()
    flavor = scn.flavor or Flavor(scn.spec.flavor)
    return plan_scale_out(scn.placement, scn.spec.name, flavor, n, [HostView(h) for h in scn.hosts])


def simulate(
    scn: Scenario,
    policies: Sequence[str] = DEFAULT_POLICIES,
    *,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run every named policy on the scenario. Raises ``ScenarioError`` for unknown names."""
    for name in policies:
        if name != "oracle":
            for part in name.split("+"):
                policy_config(scn, part)
    required = required_instances(scn.load, scn.service, scn.spec.max_size)
    result = SimulationResult(scn, required)
    for name in policies:
        result.runs[name] = run_policy(scn, name, required, progress=progress)
    return result
