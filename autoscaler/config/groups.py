"""A scaling group: its sizes, timings, boot delay, metric, SLO, forecaster and policies."""

from __future__ import annotations

import math
from datetime import timedelta
from statistics import NormalDist
from typing import Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from autoscaler.config.base import BootDuration, FrozenModel, Interval, Span, Timeout, Window
from autoscaler.config.policies import PolicyConfig, TargetPolicyConfig
from autoscaler.durations import format_duration
from autoscaler.limits import MAX_CAPACITY, MAX_GROUP_SIZE
from autoscaler.model import GroupSpec

# ---------------------------------------------------------------- groups


class BootDelayConfig(FrozenModel):
    """How long an instance takes from request to serving: the simulated cloud draws
    from this distribution, and the policies plan ahead by its ``plan_quantile``."""

    distribution: Literal["fixed", "uniform", "lognormal"] = "fixed"
    median: BootDuration = timedelta(minutes=2)
    low: BootDuration | None = None
    high: BootDuration | None = None
    sigma: float = Field(0.25, ge=0, le=5)
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
        if self.distribution == "fixed" and (self.low is not None or self.high is not None):
            # ignored before: a fixed delay is its median
            raise ValueError("low and high apply to a uniform or lognormal boot delay")
        if self.distribution == "lognormal":
            # A zero median made every simulated boot raise (log 0), which the engine
            # caught at each tick: the group never scaled, and the run reported it.
            if self.median <= timedelta(0):
                raise ValueError("median: a lognormal boot delay needs a positive median")
            if (self.low is not None and self.median < self.low) or (
                self.high is not None and self.median > self.high
            ):
                low, high = (format_duration(d) if d else "-" for d in (self.low, self.high))
                raise ValueError(
                    f"median: {format_duration(self.median)} is not within {low} .. {high}"
                )
        return self


class PrometheusConfig(FrozenModel):
    """Where Prometheus is and how to authenticate. Secrets are named, never written here."""

    url: str = Field(pattern=r"^https?://\S+$")
    token_file: str | None = None
    token_env: str | None = None
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    ca_file: str | None = None
    timeout: Timeout = timedelta(seconds=10)

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


class MonascaConfig(FrozenModel):
    """Monasca query options; the metric name is ``metric.query``, the period the step."""

    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: Literal["avg", "min", "max", "sum", "count"] | None = "avg"
    merge_metrics: bool = False
    group_by: str | None = None
    publish_forecast: bool = False  # post pred.<query> measurements for existing alarms


class LatencyMetricConfig(FrozenModel):
    """A measured p95 latency that qos closes its feedback loop on (the M/M/c inference
    from load is the fallback). ``histogram``: ``query`` selects a Prometheus
    request-duration histogram's ``_bucket`` series, read as ``histogram_quantile`` of
    their ``rate`` over ``rate_window``; ``gauge``: ``query`` already gives the p95 in
    seconds. In the simulator any query works: the metric is each step's scored p95."""

    kind: Literal["histogram", "gauge"] = "gauge"
    query: str = Field(min_length=1)
    rate_window: Window = timedelta(minutes=2)


class MetricConfig(FrozenModel):
    source: Literal["simulated", "prometheus", "monasca"] = "simulated"
    query: str = ""
    unit: Literal["load", "utilization"] = "load"
    lookback: Window = timedelta(hours=1)
    prometheus: PrometheusConfig | None = None
    monasca: MonascaConfig = MonascaConfig()
    latency: LatencyMetricConfig | None = None

    @model_validator(mode="after")
    def _source(self) -> MetricConfig:
        if self.source == "prometheus" and self.prometheus is None:
            raise ValueError("source prometheus needs a prometheus section with its url")
        if self.source in ("prometheus", "monasca") and not self.query.strip():
            raise ValueError(f"source {self.source} needs a query")
        latency = self.latency
        if latency is not None and latency.kind == "histogram" and self.source == "monasca":
            raise ValueError("a histogram latency metric needs source prometheus")
        return self


class SloConfig(FrozenModel):
    p95_latency: Timeout = timedelta(milliseconds=200)
    target_violation_pct: float = Field(1.0, ge=0, le=100)


class ForecasterConfig(FrozenModel):
    """The group's forecaster: refit every ``retrain`` on the trailing ``train_window``,
    cheap ``update()`` in between; seasonal naive, then naive, when the model is missing or
    fails (``forecasters.fallback``). Its bands are calibrated (conformal) as the benches
    score it, except ``level``'s (``registry.default_calibration``); ``params:
    {calibrated: true | once | false}`` (``once``: one fit) changes that."""

    model: str = "level"
    retrain: Window = timedelta(hours=1)
    train_window: Window = timedelta(days=7)
    horizon: Window = timedelta(minutes=30)
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.95)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ForecasterConfig:
        try:  # the registry lists its kinds without importing any model library
            from autoscaler.forecasters.registry import KNOWN_KINDS
        except ImportError:
            KNOWN_KINDS = ("level", "naive")
        known = KNOWN_KINDS
        if self.model not in known:
            raise ValueError(f"unknown forecast model {self.model!r} (known: {', '.join(known)})")
        if any(not 0 < q < 1 for q in self.quantiles):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        for name in ("retrain", "train_window", "horizon"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        return self


class GroupConfig(FrozenModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    min_size: int = Field(1, ge=0, le=MAX_GROUP_SIZE)
    max_size: int = Field(20, ge=1, le=MAX_GROUP_SIZE)
    flavor: str = "m1.small"
    capacity_per_instance: float = Field(100.0, gt=0, le=MAX_CAPACITY)
    slo: SloConfig = SloConfig()
    interval: Interval = timedelta(minutes=1)
    cooldown_up: Span = timedelta(minutes=3)
    cooldown_down: Span = timedelta(minutes=5)
    max_step_up: int = Field(1000, ge=1, le=MAX_GROUP_SIZE)
    max_step_down: int = Field(1000, ge=1, le=MAX_GROUP_SIZE)
    boot_delay: BootDelayConfig = BootDelayConfig()
    stale_after: Window = timedelta(minutes=5)
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

    @model_validator(mode="after")
    def _policies_fit_the_group(self) -> GroupConfig:
        from autoscaler.config.policy_checks import policy_problem

        if not self.policies:  # the daemon held such a group forever, without a word
            raise ValueError(
                "policies: the list is empty; a group needs at least one policy "
                "(leave the key out for the default, target)"
            )
        for i, cfg in enumerate(self.policies):
            problem = policy_problem(self, cfg)
            if problem is not None:
                raise ValueError(f"policies.{i}.{problem[0]}: {problem[1]}")
        return self

    @model_validator(mode="after")
    def _forecaster_builds(self) -> GroupConfig:
        # Built once here (unfitted, at the group's interval, the step the engine reads
        # the metric at): a parameter the model rejects, or a train_window shorter than
        # the history the model needs, used to pass the load and leave every refit on
        # the fallback or the stand-in without a word.
        from autoscaler.config.policy_checks import history_problem
        from autoscaler.model import ForecastError
        from autoscaler.registry import build_forecaster

        fc = self.forecaster
        try:
            model = build_forecaster(fc.model, self.interval, dict(fc.params))
        except (ForecastError, TypeError) as exc:
            raise ValueError(f"forecaster.params: {exc}") from None
        problem = history_problem(fc, model, self.interval)
        if problem is not None:
            raise ValueError(f"forecaster.train_window: {problem}")
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


def default_group() -> GroupConfig:
    """The group used when a config has none (the simulator's embedded default)."""
    return GroupConfig(name="web", min_size=1, max_size=40)
