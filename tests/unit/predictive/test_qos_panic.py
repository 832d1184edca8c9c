"""qos's panic window: a sample that needed more instances than were ready sizes the
group for that sample (the level forecast lags a burst) and blocks scale-in for
``panic_window``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from autoscaler.policies.qos import QosPolicy, QosState, slo_capacity

from .helpers import NOW, SPEC, STEP, ctx, forecast

TABLE = slo_capacity(SPEC.capacity_per_instance, SPEC.slo_p95_seconds, SPEC.max_size)
POLICY = QosPolicy(target_violation_pct=1.0, feedback=False, panic_window=timedelta(minutes=10))


def test_a_burst_beyond_the_ready_instances_sizes_the_group_for_it() -> None:
    # the forecast still says 150/s (2 instances); the newest sample was 900/s on 2
    d = POLICY.decide(ctx([150.0] * 30 + [900.0], ready=2, fc=forecast([150.0] * 15)))
    assert d.desired == TABLE.required_one(900.0) > 2
    assert d.reason.startswith("panic")
    assert QosState.from_json(d.memory).panic_until == NOW + timedelta(minutes=10)


def test_no_panic_when_the_ready_instances_carried_the_sample() -> None:
    # 150/s on 5 ready instances: not a burst, the forecast decides (and may scale in)
    memory = None
    for i in range(8):
        now = NOW + i * STEP
        c = ctx([150.0] * 31, ready=5, fc=forecast([150.0] * 15, start=now), memory=memory, now=now)
        d = POLICY.decide(c)
        memory = d.memory
    assert "panic" not in d.reason
    assert d.desired < 5
    assert QosState.from_json(memory).panic_until is None


def _hold_after_burst(policy: QosPolicy) -> tuple[timedelta, list[str]]:
    """How long the group keeps the size a burst asked for once the load is back to
    150/s, and the reasons given meanwhile."""
    d = policy.decide(ctx([150.0] * 30 + [900.0], ready=2, fc=forecast([150.0] * 15)))
    size, memory, reasons = d.desired, d.memory, []
    for i in range(1, 30):
        now = NOW + i * STEP
        fc = forecast([150.0] * 15, start=now)
        d = policy.decide(ctx([150.0] * 31, ready=size, fc=fc, memory=memory, now=now))
        memory = d.memory
        if d.desired < size:
            return i * STEP, reasons
        reasons.append(d.reason)
    raise AssertionError("never scaled in")


@pytest.mark.parametrize("minutes", [10, 20])
def test_no_scale_in_inside_the_panic_window(minutes: int) -> None:
    held, reasons = _hold_after_burst(replace(POLICY, panic_window=timedelta(minutes=minutes)))
    assert held >= timedelta(minutes=minutes)
    assert any(r.startswith("panic window") for r in reasons)


def test_without_a_panic_window_the_forecast_alone_decides() -> None:
    policy = replace(POLICY, panic_window=timedelta(0))
    d = policy.decide(ctx([150.0] * 30 + [900.0], ready=2, fc=forecast([150.0] * 15)))
    assert d.desired == TABLE.required_one(150.0) == 2
    assert "panic" not in d.reason
    assert QosState.from_json(d.memory).panic_until is None
