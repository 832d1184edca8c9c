"""qos closed on measured latency: the p95 a group reports beats the M/M/c inference."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.config import parse_config
from autoscaler.model import GroupStatus, MetricWindow, PolicyContext
from autoscaler.policies.qos import QosPolicy, QosState
from autoscaler.simulation import build_scenario, run_policy
from autoscaler.simulator.scoring import required_instances
from autoscaler.traces import Trace

from .helpers import NOW, SPEC, STEP, forecast


def _ctx(latency: MetricWindow | None, memory: object = None) -> PolicyContext:
    load = MetricWindow(NOW - STEP, STEP, np.full(10, 500.0))  # 10 instances: no violation
    fc = forecast([500.0] * 10, upper=1.1)
    return PolicyContext(NOW, SPEC, GroupStatus(10, 0), load, fc, memory, latency)


def test_measured_p95_over_the_slo_raises_the_band() -> None:
    policy = QosPolicy(gain=0.1)
    slow = MetricWindow(NOW - STEP, STEP, np.array([0.15, 0.35]))  # the newest is 350 ms
    after = QosState.from_json(policy.decide(_ctx(slow)).memory)
    assert (after.violations, after.measured) == (1, 1)
    assert after.band == pytest.approx(1.1)
    # without the metric the same load looks fine: no violation, the band narrows
    inferred = QosState.from_json(policy.decide(_ctx(None)).memory)
    assert (inferred.violations, inferred.measured) == (0, 0)
    assert inferred.band < 1.0


def test_stale_latency_falls_back_to_the_inference() -> None:
    stale = MetricWindow(NOW - timedelta(minutes=30), STEP, np.array([0.5, 0.5]))
    after = QosState.from_json(QosPolicy().decide(_ctx(stale)).memory)
    assert (after.violations, after.measured) == (0, 0)


def test_each_latency_sample_counts_once() -> None:
    policy = QosPolicy()
    window = MetricWindow(NOW - STEP, STEP, np.array([0.3, 0.3, 0.3]))
    first = policy.decide(_ctx(window))
    # the next decision sees the same window: nothing new to count
    again = QosState.from_json(policy.decide(_ctx(window, first.memory)).memory)
    assert (again.violations, again.measured) == (1, 1)


def _diurnal(days: int, seed: int = 11) -> Trace:
    n = days * 1440
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = (0.55 + 0.35 * np.sin(2 * np.pi * t / 1440)) * rng.lognormal(0.0, 0.1, n)
    index = pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=n, freq="1min")
    return Trace("diurnal", pd.Series(values, index=index), timedelta(minutes=1))


@pytest.mark.parametrize("measured", [True, False])
def test_capacity_30_percent_below_configured(measured: bool) -> None:
    """The service really serves 70 % of the configured capacity per instance. The
    M/M/c inference cannot see that; the measured p95 (each step's scored p95, one
    minute late) can, and qos then keeps its 2 % budget."""
    group = {
        "name": "web",
        "max_size": 40,  # room for the real need (the peak needs 20 configured instances)
        "slo": {"target_violation_pct": 2.0},
        "policies": [{"kind": "qos"}],
    }
    if measured:
        group["metric"] = {"latency": {"query": "web_request_p95_seconds"}}
    scn = build_scenario(_diurnal(3), parse_config({"groups": [group]}))
    scn = replace(scn, service=replace(scn.service, mu=0.7 * scn.service.mu))
    required = required_instances(scn.load, scn.service, scn.spec.max_size)
    assert required.max() > 20  # the configured capacity would be too little at the peak
    rate = run_policy(scn, "qos", required).score.slo_violation_pct
    if measured:
        assert rate <= 1.5 * 2.0
    else:
        assert rate > 5 * 2.0  # sized for a capacity it does not have
