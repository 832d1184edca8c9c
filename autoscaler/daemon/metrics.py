"""The daemon's Prometheus metrics, on a registry passed in (a fresh one per test)."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from autoscaler.adapters.forecast_export import PrometheusForecastGauges
from autoscaler.model import TickOutcome


class DaemonMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # The forecast gauges (load and utilization per quantile) are the adapters' own,
        # so that alarms built on them see the same series the daemon serves.
        self.forecast = PrometheusForecastGauges(registry)
        self.desired = Gauge(
            "autoscaler_desired_capacity",
            "Instances the group should have after guards",
            ["group"],
            registry=registry,
        )
        self.current = Gauge(
            "autoscaler_current_capacity",
            "Instances the cloud reports (ready + booting)",
            ["group"],
            registry=registry,
        )
        self.decisions = Counter(
            "autoscaler_decisions_total",
            "Votes by policy and direction; policy 'combined' is the action after guards",
            ["group", "policy", "direction"],
            registry=registry,
        )
        self.tick_seconds = Histogram(
            "autoscaler_tick_duration_seconds",
            "Wall time of one group's evaluation",
            ["group"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30),
            registry=registry,
        )
        self.errors = Counter(
            "autoscaler_errors_total",
            "Failures by stage (source, forecast, cloud, act, state, engine)",
            ["group", "stage"],
            registry=registry,
        )
        self.last_success = Gauge(
            "autoscaler_last_successful_tick_timestamp_seconds",
            "Unix time (of the daemon's clock) of the group's last tick without error",
            ["group"],
            registry=registry,
        )
        self.model_age = Gauge(
            "autoscaler_model_age_seconds",
            "Age of the group's fitted forecasting model (absent when it has none)",
            ["group"],
            registry=registry,
        )
        self.ready = Gauge(
            "autoscaler_ready", "1 when /readyz answers ready, else 0", registry=registry
        )

    def observe(self, o: TickOutcome, seconds: float, capacity_per_instance: float) -> None:
        g = o.group
        self.tick_seconds.labels(g).observe(seconds)
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
                self.decisions.labels(g, "combined", _direction(o.desired, current)).inc()
        if o.error is not None:
            self.errors.labels(g, o.stage or "engine").inc()
        else:
            self.last_success.labels(g).set(o.now.timestamp())

    def count_error(self, group: str, stage: str) -> None:
        self.errors.labels(group, stage).inc()

    def set_model_age(self, group: str, age: timedelta | None) -> None:
        if age is not None:
            self.model_age.labels(group).set(age.total_seconds())


def _direction(desired: int, current: int) -> str:
    return "up" if desired > current else ("down" if desired < current else "hold")
