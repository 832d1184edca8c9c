"""The qos feedback loop on a synthetic step load with a forecaster that underestimates."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd

from autoscaler.model import Forecast, GroupStatus, MetricWindow, PolicyContext
from autoscaler.policies.qos import QosPolicy, QosState, slo_capacity

from .helpers import NOW, SPEC, STEP

SPEC0 = replace(SPEC, boot_delay=timedelta(0), max_size=200)


def closed_loop(policy: QosPolicy, steps: int = 3000, seed: int = 7) -> tuple[np.ndarray, list]:
    """Replay a noisy step load (500/s, then 2000/s from step 600) through the policy,
    with instances serving from the next step. The forecast is the trailing 10-sample
    mean with no band: it misses every above-average sample. Returns the per-step
    violation flags and the policy's states."""
    rng = np.random.default_rng(seed)
    level = np.where(np.arange(steps) < 600, 500.0, 2000.0)
    load = level * rng.lognormal(0.0, 0.15, steps)
    table = slo_capacity(SPEC0.capacity_per_instance, SPEC0.slo_p95_seconds, SPEC0.max_size)
    ready, memory = 8, None
    violated = np.zeros(steps, dtype=bool)
    states = []
    for t in range(1, steps):
        violated[t] = load[t] > table.lam_max[ready]
        now = NOW + t * STEP
        window = MetricWindow(now, STEP, load[max(0, t - 59) : t + 1])
        mean = np.full(5, window.values[-10:].mean())
        fc = Forecast(pd.date_range(now + STEP, periods=5, freq=STEP), mean, {0.9: mean})
        ctx = PolicyContext(now + STEP, SPEC0, GroupStatus(ready, 0), window, fc, memory)
        d = policy.decide(ctx)
        memory = d.memory
        states.append(QosState.from_json(memory))
        ready = min(max(d.desired, 1), SPEC0.max_size)
    return violated, states


def test_feedback_converges_to_the_violation_target() -> None:
    target_pct = 5.0
    policy = QosPolicy(
        target_violation_pct=target_pct,
        gain=0.1,
        band_floor=0.1,  # the forecast has no band: the floor is all the loop can scale
        slow_period=timedelta(hours=2),
        scale_in_window=timedelta(minutes=10),
        panic_window=timedelta(0),  # the band loop alone: a panic also catches the misses
    )
    violated, states = closed_loop(policy)
    open_loop, _ = closed_loop(replace(policy, feedback=False))

    late = slice(1500, None)  # long after the step: the loop has settled
    rate = violated[late].mean() * 100
    assert open_loop[late].mean() * 100 > 1.5 * target_pct  # the biased forecast alone fails
    assert 0.3 * target_pct <= rate <= 2.0 * target_pct
    band = np.array([s.band for s in states])
    # settled: it rose well above its start, then stays in a narrow range
    assert band[late].mean() > 1.5
    assert band[late].std() < 0.15 * band[late].mean()
    # the policy's own estimate is close to the truth (it cannot see mid-interval changes)
    assert abs(states[-1].violations - violated[1:].sum()) <= 0.05 * violated.sum()


def test_slack_lowers_the_band() -> None:
    # a forecast that overestimates by 50 %: no violations, so the band narrows
    policy = QosPolicy(target_violation_pct=5.0, band=1.5, min_band=0.5, gain=0.1)
    state = policy.initial_state()
    load = np.full(60, 500.0)
    for t in range(200):
        now = NOW + t * STEP
        window = MetricWindow(now - STEP, STEP, load)
        mean = np.full(5, 750.0)
        fc = Forecast(pd.date_range(now, periods=5, freq=STEP), mean, {0.9: mean + 50.0})
        d = policy.decide(PolicyContext(now, SPEC0, GroupStatus(10, 0), window, fc, state))
        state = QosState.from_json(d.memory)
    assert state.violations == 0
    assert state.band < 1.5 * 0.9
    assert state.setpoint > 0.05  # slow loop: slack raises the setpoint
