"""The daemon's Prometheus metrics, on a registry passed in (a fresh one per test).

Conventions (https://prometheus.io/docs/practices/naming/): base units (seconds,
requests/s), ``_total`` counters that exist at zero for every configured group from the
start (so ``rate()`` and ``increase()`` see the first error), timestamps in Unix seconds
of the real clock even when the cloud is simulated (alerts compare them with ``time()``),
and an ``autoscaler_build_info`` gauge. ``/metrics`` leaves out the ``_created`` series
(see ``exposition``).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from autoscaler.adapters.forecast_export import PrometheusForecastGauges
from autoscaler.model import TickOutcome

DIRECTIONS = ("up", "down", "hold")
# Every stage that can count an error: the engine's and the daemon's own jobs.
ERROR_STAGES = ("source", "forecast", "cloud", "act", "state", "engine", "publish", "retrain")
# What became of a tick whose desired size differed from the current one.
ACTION_OUTCOMES = ("done", "failed", "advised")
# How a group runs: it acts, it only advises (mode: advisor), or it is a dry run.
MODES = ("active", "advisor", "dry_run")
CLOUD_OPERATIONS = ("status", "fleet", "scale", "host_views")
# The engine's guards (autoscaler/guards.py) and the modes that keep a decision unacted.
GUARDS = (
    "in_flight",
    "missing_data",
    "stale_data",
    "garbage_data",
    "source_error",
    "max_step_up",
    "max_step_down",
    "cooldown_up",
    "cooldown_down",
    "min_size",
    "max_size",
    "dry_run",
    "paused",
)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("predictive-autoscaler")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


# The gauges with only a group label: (attribute, metric name, help).
GROUP_GAUGES = (
    ("desired", "autoscaler_desired_capacity", "Instances the group should have after guards"),
    ("current", "autoscaler_current_capacity", "Instances the cloud reports (ready + booting)"),
    ("min_size", "autoscaler_min_size", "The group's configured minimum"),
    ("max_size", "autoscaler_max_size", "The group's configured maximum"),
    (
        "load",
        "autoscaler_observed_load",
        "The newest load sample the group's tick saw, in requests/s",
    ),
    ("paused", "autoscaler_group_paused", "1 while the group is paused (autoscaler pause), else 0"),
    (
        "interval",
        "autoscaler_evaluation_interval_seconds",
        "Real seconds between two evaluations of the group",
    ),
    (
        "last_success",
        "autoscaler_last_successful_tick_timestamp_seconds",
        "Unix time (real clock) of the group's last tick without error; the daemon's start until its first one",
    ),
    (
        "model_age",
        "autoscaler_model_age_seconds",
        "Age of the group's fitted forecasting model (absent when it has none)",
    ),
)


class DaemonMetrics:
    """Every series ``/metrics`` serves. ``wall`` is the real clock (Unix seconds)."""

    desired: Gauge
    current: Gauge
    min_size: Gauge
    max_size: Gauge
    load: Gauge
    paused: Gauge
    interval: Gauge
    last_success: Gauge
    model_age: Gauge

    def __init__(
        self, registry: CollectorRegistry, *, wall: Callable[[], float] = time.time
    ) -> None:
        self.registry = registry
        self._wall = wall
        self._groups: set[str] = set()
        # The forecast gauges are the adapters' own, so that alarms built on them see
        # the same series the daemon serves.
        self.forecast = PrometheusForecastGauges(registry)
        g, r = ["group"], registry
        info = Gauge(
            "autoscaler_build_info",
            "Always 1; the labels say which build and Python run",
            ["version", "python"],
            registry=r,
        )
        info.labels(_version(), platform.python_version()).set(1)
        for attr, name, doc in GROUP_GAUGES:
            setattr(self, attr, Gauge(name, doc, g, registry=r))
        self.mode = Gauge(
            "autoscaler_group_mode",
            "1 for the mode the group runs in (active, advisor, dry_run), 0 for the others",
            ["group", "mode"],
            registry=r,
        )
        self.decisions = Counter(
            "autoscaler_decisions_total",
            "Votes by policy and direction; policy 'combined' is the decision after guards",
            ["group", "policy", "direction"],
            registry=r,
        )
        self.actions = Counter(
            "autoscaler_actions_total",
            "Ticks whose decision differed from the current size, by what became of it "
            "(done, failed, advised: not acted on in advisor, dry-run or paused mode)",
            ["group", "direction", "outcome"],
            registry=r,
        )
        self.guards = Counter(
            "autoscaler_guard_hits_total",
            "Decisions a guard changed or blocked, by guard",
            ["group", "guard"],
            registry=r,
        )
        self.tick_seconds = Histogram(
            "autoscaler_tick_duration_seconds",
            "Wall time of one group's evaluation",
            g,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30),
            registry=r,
        )
        self.source_seconds = Histogram(
            "autoscaler_source_request_duration_seconds",
            "Wall time of one metric-source query (failures and timeouts included)",
            g,
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.cloud_seconds = Histogram(
            "autoscaler_cloud_request_duration_seconds",
            "Wall time of one cloud call, by operation (failures included)",
            ["group", "operation"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "autoscaler_errors_total",
            "Failures by stage (" + ", ".join(ERROR_STAGES) + ")",
            ["group", "stage"],
            registry=r,
        )
        self.ready = Gauge(
            "autoscaler_ready", "1 when /readyz answers ready, else 0", registry=registry
        )
        self.reloads = Counter(
            "autoscaler_config_reloads_total",
            "Config reloads (SIGHUP) by outcome: applied; partial (broken groups keep "
            "their previous settings); rejected (the previous configuration keeps "
            "running). /readyz says why in its notices",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("applied", "partial", "rejected"):
            self.reloads.labels(outcome)

    # ---------------------------------------------------------------- groups

    def register_group(
        self,
        group: str,
        *,
        min_size: int,
        max_size: int,
        mode: str,
        policies: Sequence[str],
        interval_seconds: float,
    ) -> None:
        """Create the group's series (counters at zero) and set its static gauges."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.min_size.labels(group).set(min_size)
        self.max_size.labels(group).set(max_size)
        self.interval.labels(group).set(interval_seconds)
        for m in MODES:
            self.mode.labels(group, m).set(1 if m == mode else 0)
        self.paused.labels(group)
        for policy in (*policies, "combined"):
            for direction in DIRECTIONS:
                self.decisions.labels(group, policy, direction)
        for direction in ("up", "down"):
            for outcome in ACTION_OUTCOMES:
                self.actions.labels(group, direction, outcome)
        for stage in ERROR_STAGES:
            self.errors.labels(group, stage)
        for op in CLOUD_OPERATIONS:
            self.cloud_seconds.labels(group, op)
        self.source_seconds.labels(group)
        for guard in GUARDS:
            self.guards.labels(group, guard)
        self.tick_seconds.labels(group)
        if group not in self._groups:  # a reload re-registers: keep the real last success
            self._groups.add(group)
            self.last_success.labels(group).set(self._wall())

    def forget_group(self, group: str) -> None:
        """Drop every series of ``group`` (removed by a reload)."""
        labelled = (self.mode, self.decisions, self.actions, self.guards, self.errors)
        histograms = (self.tick_seconds, self.source_seconds, self.cloud_seconds)
        gauges = tuple(getattr(self, attr) for attr, _, _ in GROUP_GAUGES)
        for metric in (*gauges, *labelled, *histograms):
            metric.remove_by_labels({"group": group})
        self.forecast.forget(group)
        self._groups.discard(group)

    def set_paused(self, group: str, paused: bool) -> None:
        self.paused.labels(group).set(1 if paused else 0)

    # ---------------------------------------------------------------- ticks and calls

    def observe(
        self,
        o: TickOutcome,
        seconds: float,
        capacity_per_instance: float,
        load: float | None = None,
    ) -> None:
        """Record one tick: sizes, votes, the action's fate, guards, errors, forecast."""
        g = o.group
        self.tick_seconds.labels(g).observe(seconds)
        if load is not None:
            self.load.labels(g).set(load)
        if o.status is not None:
            self.current.labels(g).set(o.status.total)
        if o.desired is not None:
            self.desired.labels(g).set(o.desired)
        if o.forecast is not None and len(o.forecast) and o.status is not None:
            self.forecast.publish(
                g, o.forecast, ahead=1, instances=o.status.ready, capacity=capacity_per_instance
            )
        current = o.status.total if o.status is not None else None
        if current is not None:
            for v in o.votes:
                self.decisions.labels(g, v.policy or "?", _direction(v.desired, current)).inc()
            if o.desired is not None:
                direction = _direction(o.desired, current)
                self.decisions.labels(g, "combined", direction).inc()
                if direction != "hold":
                    self.actions.labels(g, direction, _action_outcome(o)).inc()
        for guard in (o.guard or "").split(","):
            if guard:
                self.guards.labels(g, guard).inc()
        if o.error is not None:
            self.errors.labels(g, o.stage or "engine").inc()
        else:
            self.last_success.labels(g).set(self._wall())

    def observe_source(self, group: str, seconds: float) -> None:
        self.source_seconds.labels(group).observe(seconds)

    def observe_cloud(self, group: str, operation: str, seconds: float) -> None:
        self.cloud_seconds.labels(group, operation).observe(seconds)

    def count_error(self, group: str, stage: str) -> None:
        self.errors.labels(group, stage).inc()

    def set_model_age(self, group: str, age: timedelta | None) -> None:
        if age is not None:
            self.model_age.labels(group).set(age.total_seconds())


def _direction(desired: int, current: int) -> str:
    return "up" if desired > current else ("down" if desired < current else "hold")


def _action_outcome(o: TickOutcome) -> str:
    if o.action is None:
        return "advised"
    return "failed" if o.stage == "act" else "done"
