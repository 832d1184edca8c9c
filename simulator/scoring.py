"""Scoring a simulated run: latency per step, SLO violations, cost, utilisation.

Everything is vectorised over the steps after the run, so the scoring adds little to
the simulation's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.queueing import response_quantile, slo_capacity


@dataclass(frozen=True)
class ServiceModel:
    """Each instance is one M/M/c server with rate ``mu`` (load units per second)."""

    mu: float
    slo_seconds: float
    timeout_seconds: float = 10.0
    quantile: float = 0.95


@dataclass(frozen=True)
class RunScore:
    slo_violation_pct: float
    dropped_requests: float
    instance_hours: float
    cost: float
    mean_utilization: float
    p95_latency_ms: float
    scaling_actions: int
    over_provisioned_hours: float
    under_provisioned_hours: float
    violations: np.ndarray  # bool per step
    latency_ms: np.ndarray  # p95 latency per step (capped at the timeout)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "slo_violation_pct": round(self.slo_violation_pct, 4),
            "dropped_requests": round(self.dropped_requests, 1),
            "instance_hours": round(self.instance_hours, 3),
            "cost": round(self.cost, 4),
            "mean_utilization": round(self.mean_utilization, 4),
            "p95_latency_ms": round(self.p95_latency_ms, 2),
            "scaling_actions": int(self.scaling_actions),
            "over_provisioned_hours": round(self.over_provisioned_hours, 3),
            "under_provisioned_hours": round(self.under_provisioned_hours, 3),
        }


def step_latency(ready: np.ndarray, demand: np.ndarray, model: ServiceModel) -> np.ndarray:
    """p95 latency (seconds) of each step; demand beyond capacity is dropped, and an
    overloaded or empty group is scored at the request timeout."""
    served = np.minimum(demand, ready * model.mu)
    lat = response_quantile(ready, served, model.mu, model.quantile, cap=model.timeout_seconds)
    lat = np.where((demand <= 0), np.where(ready > 0, lat, 0.0), lat)
    return np.minimum(lat, model.timeout_seconds)


def score_run(
    *,
    demand: np.ndarray,
    ready: np.ndarray,
    booting: np.ndarray,
    actions: int,
    step_seconds: float,
    price_per_hour: float,
    model: ServiceModel,
    required: np.ndarray,
) -> RunScore:
    """Score one policy's run. ``demand`` is load per second at each step; ``required``
    is the fewest instances that would have met the SLO at each step."""
    demand = np.asarray(demand, dtype=float)
    ready = np.asarray(ready, dtype=np.int64)
    capacity = ready * model.mu
    dropped_rate = np.maximum(demand - capacity, 0.0)
    lat = step_latency(ready, demand, model)
    violations = (lat > model.slo_seconds) | (dropped_rate > 0)
    hours = step_seconds / 3600.0
    billed = ready + np.asarray(booting, dtype=np.int64)
    instance_hours = float(billed.sum() * hours)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(capacity > 0, np.minimum(demand, capacity) / capacity, np.nan)
    n = len(demand)
    return RunScore(
        slo_violation_pct=100.0 * float(violations.sum()) / n if n else 0.0,
        dropped_requests=float(dropped_rate.sum() * step_seconds),
        instance_hours=instance_hours,
        cost=instance_hours * price_per_hour,
        mean_utilization=float(np.nanmean(util)) if np.isfinite(util).any() else 0.0,
        p95_latency_ms=float(np.percentile(lat, 95) * 1000.0) if n else 0.0,
        scaling_actions=actions,
        over_provisioned_hours=float(np.maximum(ready - required, 0).sum() * hours),
        under_provisioned_hours=float(np.maximum(required - ready, 0).sum() * hours),
        violations=violations,
        latency_ms=lat * 1000.0,
    )


def required_instances(demand: np.ndarray, model: ServiceModel, max_servers: int) -> np.ndarray:
    """The fewest instances meeting the SLO at each step (``max_servers + 1`` if none do)."""
    table = slo_capacity(model.mu, model.slo_seconds, max_servers, model.quantile)
    return table.required(demand)
