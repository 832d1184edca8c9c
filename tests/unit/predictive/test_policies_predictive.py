"""The predictive policies as tables of cases.

SLO capacity of the test group (mu = 100/s, p95 <= 200 ms) is about 100 c - 15.5:
1 instance carries 85/s, 10 carry 984.5/s, 16 carry 1584.4/s, 20 carry 1984.4/s.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from autoscaler.policies.predictive_target import PredictiveTargetPolicy
from autoscaler.policies.predictive_threshold import PredictiveThresholdPolicy
from autoscaler.policies.qos import QosPolicy, QosState

from .helpers import NOW, SPEC, ctx, forecast

FLAT = [950.0] * 6


# ------------------------------------------------------------------ qos

QOS_CASES = [
    # (id, forecast mean, upper factor, observed, ready, spec changes, want, reason part)
    ("fits", FLAT, 1.0, [950.0], 10, {}, 10, "fits 10"),
    ("rise after boot", [950, 950, 1500, 1500, 1500, 1500], 1.0, [950.0], 10, {}, 16, "needs 16"),
    ("rise only before boot", [1500, 950, 950, 950, 950, 950], 1.0, [950.0], 10, {}, 10, "fits"),
    ("upper quantile counts", FLAT, 1.2, [950.0], 10, {}, 12, "needs 12"),
    ("forecast missing, load up", None, 1.0, [1500.0], 10, {}, 16, "no forecast"),
    ("forecast missing, never in", None, 1.0, [300.0], 10, {}, 10, "no forecast"),
    ("forecast wildly high", [1e9] * 6, 1.0, [950.0], 10, {}, 50, "clamped to 50"),
    ("step beyond max", [950, 950, 9000, 9000, 9000, 9000], 1.0, [950.0], 10, {}, 50, "max_size"),
    (
        "boot delay longer than horizon",
        [950, 950, 950, 950, 2000],
        1.0,
        [950.0],
        10,
        {"boot_delay": timedelta(minutes=30)},
        21,
        "forecast ends before the window",
    ),
    ("forecast not finite", [np.nan] * 6, 1.0, [950.0], 10, {}, 10, "no forecast"),
    ("no data at all", None, 1.0, [np.nan], 10, {}, 10, "hold"),
]


@pytest.mark.parametrize(
    ("values", "upper", "observed", "ready", "changes", "want", "reason"),
    [c[1:] for c in QOS_CASES],
    ids=[c[0] for c in QOS_CASES],
)
def test_qos_table(values, upper, observed, ready, changes, want, reason) -> None:
    spec = replace(SPEC, **changes)
    fc = None if values is None else forecast(values, upper)
    # no floor on the band: the table's forecasts state their upper quantile exactly
    d = QosPolicy(feedback=False, band_floor=0.0).decide(ctx(observed, ready, fc=fc, spec=spec))
    assert d.desired == want
    assert reason in d.reason
    assert isinstance(QosState.from_json(d.memory), QosState)


def _state(recent: tuple) -> QosState:
    return replace(QosPolicy().initial_state(), recent=recent)


@pytest.mark.parametrize(
    ("recent", "want"),
    [
        ((), 10),  # first low reading: the stabilisation window is not yet full
        (((NOW - timedelta(minutes=9), 4), (NOW - timedelta(minutes=5), 4)), 4),
        (((NOW - timedelta(minutes=9), 4), (NOW - timedelta(minutes=5), 8)), 8),
        (((NOW - timedelta(minutes=11), 9), (NOW - timedelta(minutes=9), 4)), 4),  # 9 aged out
    ],
)
def test_qos_scale_in_needs_the_whole_window(recent: tuple, want: int) -> None:
    # 300/s sits below 90 % (the low-water mark) of 4 instances' 384.6/s
    fc = forecast([300.0] * 6)
    d = QosPolicy(feedback=False, scale_in_window=timedelta(minutes=10)).decide(
        ctx([300.0], 10, fc=fc, memory=_state(recent))
    )
    assert d.desired == want


def test_qos_scale_in_keeps_what_the_near_term_needs() -> None:
    # Low after the boot delay, but 950/s right now: removing instances now would hurt.
    fc = forecast([950, 300, 300, 300, 300, 300])
    recent = ((NOW - timedelta(minutes=9), 2), (NOW - timedelta(minutes=5), 2))
    policy = QosPolicy(feedback=False, scale_in_window=timedelta(minutes=10))
    d = policy.decide(ctx([950.0], 12, fc=fc, memory=_state(recent)))
    assert d.desired == 11  # 950 / 0.9 = 1055.6 needs 11


def test_qos_counts_violations_from_the_samples_it_saw() -> None:
    policy = QosPolicy(feedback=True, gain=0.1)
    fc = forecast(FLAT)
    first = QosState.from_json(policy.decide(ctx([950.0], 10, fc=fc)).memory)
    # five new samples since, two of them above 10 instances' SLO capacity
    later = NOW + timedelta(minutes=5)
    loads = [950.0, 950.0, 1100.0, 950.0, 1200.0, 950.0]
    d = policy.decide(ctx(loads, 10, fc=forecast(FLAT, start=later), memory=first, now=later))
    state = QosState.from_json(d.memory)
    assert (state.violations, state.samples) == (2, 6)
    assert state.band > first.band


def test_qos_band_learns_from_violations_while_booting() -> None:
    # On bursty load most violations come while a scale-out boots; a loop that skipped
    # them (the old anti-windup) left the violation rate deaf to the budget.
    policy = QosPolicy(feedback=True, gain=0.1)
    state = policy.initial_state()
    d = policy.decide(ctx([5000.0], 10, booting=5, fc=forecast(FLAT), memory=state))
    after = QosState.from_json(d.memory)
    assert after.violations == 1
    assert after.band == pytest.approx(state.band * 1.1)


# ------------------------------------------------------------------ predictive target

PT_CASES = [
    ("on target", [700.0] * 6, [700.0], 10, {}, None, 10),
    ("rise after boot", [700, 700, 1400, 1400, 1400, 1400], [700.0], 10, {}, None, 20),
    ("forecast missing: reactive", None, [1400.0], 10, {}, None, 20),
    ("forecast missing, no sample", None, [np.nan], 10, {}, None, 10),
    ("forecast wildly high", [1e12] * 6, [700.0], 10, {}, None, 50),
    ("step beyond max", [700, 700, 7000, 7000, 7000, 7000], [700.0], 10, {}, None, 50),
    (
        "boot delay longer than horizon",
        [700, 700, 700, 1400],
        [700.0],
        10,
        {"boot_delay": timedelta(hours=1)},
        None,
        20,
    ),
    ("dip, no history: down", [350.0] * 6, [350.0], 10, {}, None, 5),
    (
        "dip inside stabilisation",
        [350.0] * 6,
        [350.0],
        10,
        {},
        [[(NOW - timedelta(minutes=3)).timestamp(), 10]],
        10,
    ),
    (
        "old peak forgotten",
        [350.0] * 6,
        [350.0],
        10,
        {},
        [[(NOW - timedelta(minutes=6)).timestamp(), 10]],
        5,
    ),
]


@pytest.mark.parametrize(
    ("values", "observed", "ready", "changes", "memory", "want"),
    [c[1:] for c in PT_CASES],
    ids=[c[0] for c in PT_CASES],
)
def test_predictive_target_table(values, observed, ready, changes, memory, want) -> None:
    spec = replace(SPEC, **changes)
    fc = None if values is None else forecast(values)
    policy = PredictiveTargetPolicy(target=0.7, tolerance=0.1, quantile=0.9)
    d = policy.decide(ctx(observed, ready, fc=fc, spec=spec, memory=memory))
    assert d.desired == want


def test_predictive_target_reads_the_upper_quantile() -> None:
    policy = PredictiveTargetPolicy(target=0.7, quantile=0.9)
    d = policy.decide(ctx([700.0], 10, fc=forecast([700.0] * 6, upper=2.0)))
    assert d.desired == 20


# ------------------------------------------------------------------ predictive threshold

RISING = [500.0 + 20 * i for i in range(20)]  # 500 .. 880 over 20 minutes
HIGH = (1500.0, 1500.0)
LOW = (100.0, 100.0)

PTH_CASES = [
    # the line reaches 880 + 16 x 20 = 1200 at now + 15 min: 120 % of 10 instances
    ("rising, third high period", RISING, HIGH, "linear", None, 12),
    ("rising, first high period", RISING, (), "linear", None, 10),
    ("rising, one low period between", RISING, (1500.0, 500.0), "linear", None, 10),
    ("flat low, third period", [100.0] * 20, LOW, "linear", None, 9),
    ("too few samples", [np.nan] * 19 + [900.0], HIGH, "linear", None, 10),
    ("forecast model", [900.0] * 20, HIGH, "forecast", [1200.0] * 20, 12),
    ("forecast model, forecast missing", [900.0] * 20, HIGH, "forecast", None, 10),
    ("forecast wildly high", [900.0] * 20, (1e12, 1e12), "forecast", [1e12] * 20, 12),
]


@pytest.mark.parametrize(
    ("loads", "memory", "model", "values", "want"),
    [c[1:] for c in PTH_CASES],
    ids=[c[0] for c in PTH_CASES],
)
def test_predictive_threshold_table(loads, memory, model, values, want) -> None:
    policy = PredictiveThresholdPolicy(
        upper=0.8, lower=0.15, periods=3, step_out=2, step_in=1, model=model
    )
    fc = None if values is None else forecast(values)
    d = policy.decide(ctx(loads, 10, fc=fc, memory=memory))
    assert d.desired == want
    assert isinstance(d.memory, tuple)


def test_predictive_threshold_linear_prediction_value() -> None:
    policy = PredictiveThresholdPolicy()
    assert math.isclose(policy.predict(ctx(RISING, 10)), 1200.0)


def test_predictive_threshold_boot_longer_than_horizon_reads_last_point() -> None:
    policy = PredictiveThresholdPolicy(model="forecast", horizon=timedelta(hours=2))
    fc = forecast([900.0] * 9 + [1600.0])  # ends long before now + 2 h
    assert policy.predict(ctx([900.0] * 20, 10, fc=fc)) == 1600.0


def test_qos_memory_survives_a_json_round_trip() -> None:
    import json

    policy = QosPolicy()
    recent = ((NOW - timedelta(minutes=19), 4), (NOW - timedelta(minutes=5), 4))
    d = policy.decide(ctx([300.0], 10, fc=forecast([300.0] * 6), memory=_state(recent)))
    restored = json.loads(json.dumps(d.memory))
    assert QosState.from_json(restored) == QosState.from_json(d.memory)
    later = NOW + timedelta(minutes=1)
    again = policy.decide(
        ctx([300.0], d.desired, fc=forecast([300.0] * 6, start=later), memory=restored, now=later)
    )
    assert QosState.from_json(again.memory).samples == QosState.from_json(d.memory).samples + 1
    # unreadable memory (an older format, a hand edit) starts afresh rather than failing
    assert policy.restore({"band": "x"}) == policy.initial_state()


def test_predictive_target_memory_is_json() -> None:
    import json

    d = PredictiveTargetPolicy().decide(ctx([350.0], 10, fc=forecast([350.0] * 6)))
    assert json.loads(json.dumps(d.memory)) == d.memory
