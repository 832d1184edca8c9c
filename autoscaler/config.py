"""The YAML configuration, validated with pydantic into frozen objects.

``load_config(path)`` reads and validates a file and raises ``ConfigError`` listing
*every* problem at once, each as ``file:line: path.to.field: message``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from autoscaler.durations import format_duration, parse_duration
from autoscaler.model import GroupSpec

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


class ConfigError(Exception):
    """The configuration is invalid; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- policies


class ThresholdPolicyConfig(_Frozen):
    """Reactive step scaling as Heat/Aodh alarms do it."""

    kind: Literal["threshold"] = "threshold"
    upper: float = Field(0.8, gt=0, le=1.5)
    lower: float = Field(0.3, ge=0, lt=1.5)
    periods: int = Field(3, ge=1)
    step_out: int = Field(2, ge=1)
    step_in: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _order(self) -> ThresholdPolicyConfig:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class TargetPolicyConfig(_Frozen):
    """Target tracking as the Kubernetes HPA does it."""

    kind: Literal["target"] = "target"
    target: float = Field(0.7, gt=0, le=1.0)
    tolerance: float = Field(0.1, ge=0, lt=1.0)
    stabilization_down: Duration = timedelta(minutes=5)
    max_up_pct: float = Field(100.0, gt=0)
    max_up_pods: int = Field(4, ge=1)
    max_down_pct: float = Field(100.0, gt=0, le=100.0)


class OraclePolicyConfig(_Frozen):
    """The offline lower bound: sees the whole trace (simulation only)."""

    kind: Literal["oracle"] = "oracle"


class PredictiveThresholdPolicyConfig(_Frozen):
    """The OpenStack Monasca baseline: the threshold rule applied to forecast utilisation.

    ``model: linear`` fits a least-squares line to the last ``lookback`` of load and reads
    it ``horizon`` ahead (the published approach); ``model: forecast`` reads the group's
    forecaster instead.
    """

    kind: Literal["predictive_threshold"] = "predictive_threshold"
    upper: float = Field(0.8, gt=0, le=1.5)
    lower: float = Field(0.15, ge=0, lt=1.5)
    periods: int = Field(3, ge=1)
    step_out: int = Field(2, ge=1)
    step_in: int = Field(1, ge=1)
    lookback: Duration = timedelta(minutes=20)
    horizon: Duration = timedelta(minutes=15)
    model: Literal["linear", "forecast"] = "linear"

    @model_validator(mode="after")
    def _order(self) -> PredictiveThresholdPolicyConfig:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        if self.lookback <= timedelta(0) or self.horizon <= timedelta(0):
            raise ValueError("lookback and horizon must be positive")
        return self


class PredictiveTargetPolicyConfig(_Frozen):
    """Target tracking on a forecast quantile over [now + boot delay, + one interval]."""

    kind: Literal["predictive_target"] = "predictive_target"
    target: float = Field(0.7, gt=0, le=1.0)
    tolerance: float = Field(0.1, ge=0, lt=1.0)
    quantile: float = Field(0.9, gt=0, lt=1)
    stabilization_down: Duration = timedelta(minutes=5)


class QosPolicyConfig(_Frozen):
    """The SLO-driven policy: fewest instances whose p95 latency meets the SLO for the upper
    forecast quantile, with a violation feedback loop on the width of the forecast band."""

    kind: Literal["qos"] = "qos"
    quantile: float = Field(0.9, gt=0, lt=1)
    band: float = Field(1.0, gt=0)
    min_band: float = Field(0.25, gt=0)
    max_band: float = Field(4.0, gt=0)
    band_floor: float = Field(0.05, ge=0, lt=1)
    low_water: float = Field(0.95, gt=0, le=1)
    scale_in_window: Duration = timedelta(minutes=5)
    feedback: bool = True
    gain: float = Field(0.1, gt=0, lt=1)
    slow_period: Duration = timedelta(hours=1)

    @model_validator(mode="after")
    def _bounds(self) -> QosPolicyConfig:
        if not self.min_band <= self.band <= self.max_band:
            raise ValueError("band must lie within [min_band, max_band]")
        return self


class ScheduleEntryConfig(_Frozen):
    """A minimum group size while ``cron`` (5 fields: minute hour day month weekday) matches."""

    cron: str
    min: int = Field(ge=0)

    @model_validator(mode="after")
    def _cron(self) -> ScheduleEntryConfig:
        from autoscaler.cron import CronExpr  # parse errors become config errors here

        CronExpr.parse(self.cron)
        return self


class SchedulePolicyConfig(_Frozen):
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
    | OraclePolicyConfig
    | PredictiveThresholdPolicyConfig
    | PredictiveTargetPolicyConfig
    | QosPolicyConfig
    | SchedulePolicyConfig,
    Field(discriminator="kind"),
]


_POLICY_KINDS = frozenset(
    t.model_fields["kind"].default
    for t in PolicyConfig.__origin__.__args__  # type: ignore[attr-defined]
)

# ---------------------------------------------------------------- groups


class BootDelayConfig(_Frozen):
    """How long an instance takes from request to serving: the simulated cloud draws
    from this distribution, and the policies plan ahead by its ``plan_quantile``."""

    distribution: Literal["fixed", "uniform", "lognormal"] = "fixed"
    median: Duration = timedelta(minutes=2)
    low: Duration | None = None
    high: Duration | None = None
    sigma: float = Field(0.25, ge=0)
    plan_quantile: float = Field(0.9, gt=0, lt=1)

    def planning(self) -> timedelta:
        """The lead the policies plan with: the ``plan_quantile`` of the delay, so that
        (by default) nine boots in ten are serving by the time the plan counted on."""
        q = self.plan_quantile
        if self.distribution == "uniform" and self.low is not None and self.high is not None:
            return self.low + (self.high - self.low) * q
        if self.distribution == "lognormal":
            lead = self.median * math.exp(NormalDist().inv_cdf(q) * self.sigma)
            if self.low is not None:
                lead = max(lead, self.low)
            if self.high is not None:
                lead = min(lead, self.high)
            return lead
        return self.median

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str | timedelta):
            return {"distribution": "fixed", "median": value}
        return value

    @model_validator(mode="after")
    def _bounds(self) -> BootDelayConfig:
        if self.distribution == "uniform" and (self.low is None or self.high is None):
            raise ValueError("a uniform boot delay needs low and high")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class PrometheusConfig(_Frozen):
    """Where Prometheus is and how to authenticate. Secrets are named, never written here."""

    url: str = Field(pattern=r"^https?://\S+$")
    token_file: str | None = None
    token_env: str | None = None
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    ca_file: str | None = None
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _auth(self) -> PrometheusConfig:
        token = [x for x in (self.token_file, self.token_env) if x]
        password = [x for x in (self.password_file, self.password_env) if x]
        if len(token) > 1 or len(password) > 1:
            raise ValueError("give a secret as a file or as an environment variable, not both")
        if token and (self.username or password):
            raise ValueError("use either a bearer token or a username and password, not both")
        if bool(self.username) != bool(password):
            raise ValueError("basic auth needs both username and password_file/password_env")
        return self


class MonascaConfig(_Frozen):
    """Monasca query options; the metric name is ``metric.query``, the period the step."""

    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: Literal["avg", "min", "max", "sum", "count"] | None = "avg"
    merge_metrics: bool = False
    group_by: str | None = None
    publish_forecast: bool = False  # post pred.<query> measurements for existing alarms


class MetricConfig(_Frozen):
    source: Literal["simulated", "prometheus", "monasca"] = "simulated"
    query: str = ""
    unit: Literal["load", "utilization"] = "load"
    lookback: Duration = timedelta(hours=1)
    prometheus: PrometheusConfig | None = None
    monasca: MonascaConfig = MonascaConfig()

    @model_validator(mode="after")
    def _source(self) -> MetricConfig:
        if self.source == "prometheus" and self.prometheus is None:
            raise ValueError("source prometheus needs a prometheus section with its url")
        if self.source in ("prometheus", "monasca") and not self.query.strip():
            raise ValueError(f"source {self.source} needs a query")
        return self


class SloConfig(_Frozen):
    p95_latency: Duration = timedelta(milliseconds=200)
    target_violation_pct: float = Field(1.0, ge=0, le=100)


class ForecasterConfig(_Frozen):
    """The group's forecaster: refit every ``retrain`` on the trailing ``train_window``,
    cheap ``update()`` in between, naive fallback when the model is missing or fails."""

    model: str = "level"
    retrain: Duration = timedelta(hours=1)
    train_window: Duration = timedelta(days=1)
    horizon: Duration = timedelta(minutes=30)
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.95)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ForecasterConfig:
        try:  # the registry lists its kinds without importing any model library
            from autoscaler.forecasters.registry import KNOWN_KINDS
        except ImportError:
            KNOWN_KINDS = ("naive",)
        known = ("level", *KNOWN_KINDS)
        if self.model not in known:
            raise ValueError(f"unknown forecast model {self.model!r} (known: {', '.join(known)})")
        if any(not 0 < q < 1 for q in self.quantiles):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        for name in ("retrain", "train_window", "horizon"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        return self


class GroupConfig(_Frozen):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    min_size: int = Field(1, ge=0)
    max_size: int = Field(20, ge=1)
    flavor: str = "m1.small"
    capacity_per_instance: float = Field(100.0, gt=0)
    slo: SloConfig = SloConfig()
    interval: Duration = timedelta(minutes=1)
    cooldown_up: Duration = timedelta(minutes=3)
    cooldown_down: Duration = timedelta(minutes=5)
    max_step_up: int = Field(1000, ge=1)
    max_step_down: int = Field(1000, ge=1)
    boot_delay: BootDelayConfig = BootDelayConfig()
    stale_after: Duration = timedelta(minutes=5)
    dry_run: bool = False
    # advisor: decisions are computed, logged and exported, never acted on (dry-run).
    mode: Literal["act", "advisor"] = "act"
    metric: MetricConfig = MetricConfig()
    forecaster: ForecasterConfig = ForecasterConfig()
    victims: Literal["youngest", "oldest", "least_loaded", "frees_host"] = "youngest"
    # Where new instances go on the simulated cloud's hosts; None lets the cloud decide.
    placement: Literal["spread", "pack", "interference_aware"] | None = None
    policies: list[PolicyConfig] = Field(default_factory=lambda: [TargetPolicyConfig()])

    @model_validator(mode="after")
    def _sizes(self) -> GroupConfig:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) exceeds max_size ({self.max_size})")
        return self

    def spec(self) -> GroupSpec:
        """The engine's view of this group."""
        return GroupSpec(
            name=self.name,
            min_size=self.min_size,
            max_size=self.max_size,
            capacity_per_instance=self.capacity_per_instance,
            interval=self.interval,
            cooldown_up=self.cooldown_up,
            cooldown_down=self.cooldown_down,
            max_step_up=self.max_step_up,
            max_step_down=self.max_step_down,
            boot_delay=self.boot_delay.planning(),
            slo_p95_seconds=self.slo.p95_latency.total_seconds(),
            stale_after=self.stale_after,
            dry_run=self.dry_run or self.mode == "advisor",
            flavor=self.flavor,
        )


# ---------------------------------------------------------------- cloud, simulation


class FlavorConfig(_Frozen):
    vcpus: int = Field(1, ge=1)
    ram_mb: int = Field(2048, ge=1)
    gpus: int = Field(0, ge=0)
    price_per_hour: float = Field(0.05, ge=0)


class NovaConfig(_Frozen):
    """How the Nova adapter boots a group's servers (the flavor is the group's)."""

    image: str = Field(min_length=1)  # image ID
    network: str | None = None  # network ID; none lets Nova pick ("auto")
    key_name: str | None = None
    user_data_file: str | None = None
    server_group_policy: (
        Literal["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"] | None
    ) = None
    boot_timeout: Duration = timedelta(minutes=10)  # 0s: do not wait, report them as booting
    # How groups' ``placement:`` reach Nova: "hosts" reads hosts from Placement and boots
    # on the chosen one (admin role); "hints" maps the policy to a server group (any
    # project). See docs/integrations.md.
    placement: Literal["hosts", "hints"] = "hosts"
    max_server_per_host: int | None = Field(None, ge=1)  # spread as hard anti-affinity


class HeatGroupConfig(_Frozen):
    """Where a group lives in Heat (defaults match etc/heat/asg-external.yaml)."""

    stack: str = Field(min_length=1)
    resource: str = "asg"
    mode: Literal["update", "signal"] = "update"
    capacity_parameter: str = "desired_capacity"
    scale_up_policy: str = "scale_up"
    scale_down_policy: str = "scale_down"


class SenlinGroupConfig(_Frozen):
    cluster: str = Field(min_length=1)
    adjustment: Literal["exact", "change"] = "exact"
    action_timeout: Duration = timedelta(minutes=15)


class CloudConfig(_Frozen):
    kind: Literal["simulated", "nova", "heat", "senlin"] = "simulated"
    cloud: str | None = None  # name of the entry in clouds.yaml; credentials stay there
    clouds_file: str | None = None  # default: where the openstack CLI looks
    nova: NovaConfig | None = None
    heat: dict[str, HeatGroupConfig] = Field(default_factory=dict)  # group name -> stack
    senlin: dict[str, SenlinGroupConfig] = Field(default_factory=dict)  # group -> cluster

    @model_validator(mode="after")
    def _kind(self) -> CloudConfig:
        if self.kind == "nova" and self.nova is None:
            raise ValueError("kind nova needs a nova section (image, network, ...)")
        return self


class SimulationConfig(_Frozen):
    step: Duration = timedelta(minutes=1)
    seed: int = 0
    peak_instances: int = Field(20, ge=1)
    boot_failure_rate: float = Field(0.0, ge=0, lt=1)
    request_timeout: Duration = timedelta(seconds=10)
    trace: str | None = None
    column: str | None = None
    fill: Literal["zero", "previous"] | None = None


class HostGroupConfig(_Frozen):
    """``count`` identical hosts of the simulated cloud, named ``prefix-N``, spread
    round-robin over ``zones``; CPU and RAM may be overcommitted as Nova does."""

    prefix: str = Field("cmp", pattern=r"^[A-Za-z0-9_.-]+$")
    count: int = Field(1, ge=1)
    zones: list[str] = Field(default_factory=lambda: ["az1"], min_length=1)
    vcpus: int = Field(8, ge=1)
    ram_mb: int = Field(32768, ge=1)
    gpus: int = Field(0, ge=0)
    cpu_allocation_ratio: float = Field(4.0, gt=0)
    ram_allocation_ratio: float = Field(1.0, gt=0)


class PlacementConfig(_Frozen):
    """How VMs are placed and judged in ``simulate --vms``."""

    contention_threshold: float = Field(0.8, gt=0, le=1.0)
    quantile: float = Field(0.95, gt=0.5, lt=1)
    history: Duration = timedelta(hours=1)
    rebalance_every: Duration = timedelta(hours=1)
    # On a real cloud interference_aware's rebalance is a recorded plan of live
    # migrations, carried out only with "apply"; at most migrations_per_round a round
    # and migrations_per_host moving into or out of any one host.
    rebalance: Literal["plan", "apply", "off"] = "plan"
    migrations_per_round: int = Field(8, ge=0)
    migrations_per_host: int = Field(4, ge=1)
    vm_flavor: str = "m1.small"
    # interference_aware drains the least-loaded hosts onto others kept at or below
    # consolidate_below (predicted share of their vCPUs; default: 0.1 under the contention
    # threshold, at least half of it); the gap keeps VMs from moving back and forth
    consolidate: bool = True
    consolidate_below: float | None = Field(None, gt=0, lt=1)
    consolidate_max_moves: int = Field(32, ge=0)  # consolidation migrations per rebalance

    @model_validator(mode="after")
    def _hysteresis(self) -> PlacementConfig:
        self.consolidation_target(self.contention_threshold)
        return self

    def consolidation_target(self, threshold: float) -> float | None:
        """The consolidation target under contention ``threshold`` (None when consolidation
        is off). Raises ``ValueError`` when ``consolidate_below`` is not below it."""
        if not self.consolidate:
            return None
        below = self.consolidate_below
        if below is None:
            return round(max(threshold - 0.1, threshold / 2), 6)
        if below >= threshold:
            raise ValueError(
                f"consolidate_below ({below}) must be below the contention threshold ({threshold})"
            )
        return below


class DaemonConfig(_Frozen):
    """How ``autoscaler run`` serves: state, HTTP, logs, readiness, the simulated clock."""

    state_dir: str = "/var/lib/autoscaler"
    bind: str = "127.0.0.1"
    port: int = Field(9723, ge=0, le=65535)
    log_format: Literal["json", "text"] = "json"
    speedup: float = Field(60.0, gt=0, le=1_000_000)
    not_ready_after: int = Field(3, ge=1)
    source_timeout: Duration = timedelta(seconds=10)
    misfire_grace: Duration = timedelta(seconds=30)


class Config(_Frozen):
    version: Literal[1] = 1
    flavors: dict[str, FlavorConfig] = Field(default_factory=lambda: {"m1.small": FlavorConfig()})
    cloud: CloudConfig = CloudConfig()
    simulation: SimulationConfig = SimulationConfig()
    daemon: DaemonConfig = DaemonConfig()
    hosts: list[HostGroupConfig] = Field(default_factory=list)
    placement: PlacementConfig = PlacementConfig()
    groups: list[GroupConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems = reference_problems([(g.name, g.flavor) for g in self.groups], set(self.flavors))
        problems += placement_problems(
            [(g.placement, g.flavor) for g in self.groups],
            self.flavors,
            self.hosts,
            self.cloud.kind,
        )
        if problems:
            raise ValueError("; ".join(f"{_loc_to_path(loc)}: {msg}" for loc, msg in problems))
        return self

    def group(self, name: str) -> GroupConfig:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)


def reference_problems(
    groups: list[tuple[object, object]], flavors: set[str]
) -> list[tuple[tuple[Any, ...], str]]:
    """Duplicate group names and unknown flavors, as (location, message) pairs."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen: set[object] = set()
    for i, (name, flavor) in enumerate(groups):
        if name in seen:
            problems.append((("groups", i, "name"), f"duplicate group name {name!r}"))
        seen.add(name)
        if isinstance(flavor, str) and flavor not in flavors:
            known = ", ".join(sorted(flavors)) or "none"
            problems.append(
                (("groups", i, "flavor"), f"unknown flavor {flavor!r} (known: {known})")
            )
    return problems


# Why a group's ``placement:`` cannot run on each real cloud (Nova can: its hosts come
# from Placement, or its policy becomes a server group).
_UNPLACEABLE = {
    "heat": "a Heat AutoScalingGroup creates its servers itself and cannot place single ones",
    "senlin": "a Senlin cluster creates its nodes itself and cannot place single ones",
}


def placement_problems(
    groups: list[tuple[object, object]],
    flavors: Mapping[str, FlavorConfig],
    hosts: Sequence[HostGroupConfig],
    cloud_kind: object = "simulated",
) -> list[tuple[tuple[Any, ...], str]]:
    """Per group (placement, flavor name): a placement policy needs a cloud that can
    honour it (simulated, with a ``hosts`` section, or nova); with hosts, the group's
    flavor must fit on at least one host (as (location, message))."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, (placement, flavor) in enumerate(groups):
        if placement is not None and isinstance(cloud_kind, str) and cloud_kind in _UNPLACEABLE:
            problems.append(
                (
                    ("groups", i, "placement"),
                    f"placement {placement} needs cloud.kind simulated or nova: "
                    f"{_UNPLACEABLE[cloud_kind]}",
                )
            )
        elif placement is not None and not hosts and cloud_kind != "nova":
            problems.append(
                (("groups", i, "placement"), "a placement policy needs a hosts: section")
            )
        f = flavors.get(flavor) if isinstance(flavor, str) else None
        if f is None or not hosts:
            continue
        if not any(
            f.vcpus <= h.vcpus * h.cpu_allocation_ratio
            and f.ram_mb <= h.ram_mb * h.ram_allocation_ratio
            and f.gpus <= h.gpus
            for h in hosts
        ):
            problems.append(
                (
                    ("groups", i, "flavor"),
                    f"flavor {flavor!r} ({f.vcpus} vCPU, {f.ram_mb} MB RAM, {f.gpus} GPU) "
                    "fits on none of the hosts",
                )
            )
    return problems


def _raw_reference_problems(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """The cross-reference checks on unvalidated data, so that they are reported together
    with field errors rather than only once every field is valid."""
    groups = data.get("groups")
    flavors = data.get("flavors", {"m1.small": None})
    if not isinstance(groups, list) or not isinstance(flavors, dict):
        return []
    pairs = [
        (g.get("name"), g.get("flavor", GroupConfig.model_fields["flavor"].default))
        for g in groups
        if isinstance(g, dict)
    ]
    if len(pairs) != len(groups):
        return []
    problems = reference_problems(pairs, {str(k) for k in flavors})
    try:  # placement checks need valid hosts and flavors; their own errors come anyway
        hosts = [HostGroupConfig.model_validate(h) for h in data.get("hosts") or []]
        valid = {str(k): FlavorConfig.model_validate(v or {}) for k, v in flavors.items()}
    except (ValidationError, TypeError):
        return problems
    placements = [
        (g.get("placement"), g.get("flavor", GroupConfig.model_fields["flavor"].default))
        for g in groups
    ]
    cloud = data.get("cloud")
    kind = cloud.get("kind", "simulated") if isinstance(cloud, dict) else "simulated"
    return problems + placement_problems(placements, valid, hosts, kind)


def default_group() -> GroupConfig:
    """The group used when a config has none (the simulator's embedded default)."""
    return GroupConfig(name="web", min_size=1, max_size=40)


# ---------------------------------------------------------------- loading and errors


def _loc_to_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _user_loc(loc: Iterable[Any]) -> tuple[Any, ...]:
    """Drop the tag that pydantic inserts after a discriminated union's index."""
    out: list[Any] = []
    for part in loc:
        if (
            len(out) >= 2
            and out[-2] == "policies"
            and isinstance(out[-1], int)
            and isinstance(part, str)
        ) and part in _POLICY_KINDS:
            continue
        out.append(part)
    return tuple(out)


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map every key/index path in a YAML document to its 1-based line number."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                p = (*path, key.value)
                lines[p] = key.start_mark.line + 1
                walk(value, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def option_line(path: str | Path, dotted: str) -> int | None:
    """The line of option ``dotted`` (e.g. ``cloud.nova.placement``) in the YAML file at
    ``path``, or None when the file cannot be read or does not set it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return _yaml_lines(text).get(tuple(dotted.split(".")))


def _format_errors(
    errors: list[Any],
    where: str,
    lines: dict[tuple[Any, ...], int],
    extra: list[tuple[tuple[Any, ...], str]] | None = None,
) -> list[str]:
    """One line per error, in the order they appear in the file."""
    out: list[tuple[int, str]] = []
    merged = [*errors, *({"loc": loc, "msg": msg, "type": "reference"} for loc, msg in extra or [])]
    for err in merged:
        loc = _user_loc(err["loc"])
        line = None
        for n in range(len(loc), -1, -1):
            if loc[:n] in lines:
                line = lines[loc[:n]]
                break
        prefix = f"{where}:{line}: " if line else f"{where}: "
        path = _loc_to_path(loc)
        msg = _clean_message(err["msg"])
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_invalid":
            msg = (
                f"unknown policy kind {err.get('input', {}).get('kind')!r}"
                if isinstance(err.get("input"), dict)
                else msg
            )
        out.append((line or 0, f"{prefix}{path + ': ' if path else ''}{msg}"))
    return [text for _, text in sorted(out, key=lambda e: e[0])]


def parse_config(data: Any, where: str = "<config>", text: str | None = None) -> Config:
    """Validate already-parsed YAML data. Raises ``ConfigError`` with every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{where}: the top level must be a mapping of sections"])
    lines = _yaml_lines(text) if text else {}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raw = _raw_reference_problems(data)
        # The model's own reference check repeats ``raw`` at the top level; keep one copy.
        errors = [e for e in exc.errors() if not (e["loc"] == () and raw)]
        formatted = _format_errors(errors, where, lines, extra=raw)
        raise ConfigError(formatted) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file. Raises ``ConfigError`` (never a traceback)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{p}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{p}: cannot read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{p}{line}: invalid YAML: {problem}"]) from None
    return parse_config(data, str(p), text)
