"""predictive_target's options for load that comes one request at a time, by hand (the
test group: one instance carries 100/s, samples 1 min apart): ``spare_above`` (no spare
on a load of at most that many instances' worth) and ``keep_warm`` (a scale-in keeps
what the largest sample of that long needs, without a spare)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from autoscaler.policies.base import staffed
from autoscaler.policies.predictive_target import PredictiveTargetPolicy

from .helpers import SPEC, ctx, forecast

MIN = timedelta(minutes=1)

SPARE_ABOVE_CASES = [
    # (id, load, spare_above, want): spare 1.5, target 1, forecast = observed = load
    ("lone request, off: 1 + floor(1.5)", 100.0, 0.0, 2),
    ("lone request, above 1: no spare", 100.0, 1.0, 1),
    ("part of a request, above 1: no spare", 40.0, 1.0, 1),
    ("1.5 instances, above 1: 1.5 + floor(1.84) -> 3", 150.0, 1.0, 3),
    ("two requests, above 1: 2 + floor(2.12)", 200.0, 1.0, 4),
    ("two requests, off: the same", 200.0, 0.0, 4),
    ("two requests, above 2: no spare", 200.0, 2.0, 2),
]


@pytest.mark.parametrize(
    ("load", "above", "want"),
    [c[1:] for c in SPARE_ABOVE_CASES],
    ids=[c[0] for c in SPARE_ABOVE_CASES],
)
def test_spare_above(load: float, above: float, want: int) -> None:
    policy = PredictiveTargetPolicy(
        target=1.0, tolerance=0.0, quantile=0.5, spare=1.5, react=True, spare_above=above
    )
    assert policy.decide(ctx([load], 1, fc=forecast([load] * 6))).desired == want


def test_staffed_above() -> None:
    assert staffed(100.0, SPEC, 1.5, above=1.0) == 1.0
    assert staffed(100.0, SPEC, 1.5, above=0.99) == 2.0
    assert staffed(100.0, SPEC, 0.0, above=0.0) == 1.0


KEEP_WARM_CASES = [
    # (id, samples (oldest first, 1 min apart), ready, spare, keep_warm, want); the
    # forecast has fallen to zero: without keep_warm every case scales to zero
    ("off: to zero", [0.0, 100.0, 0.0, 0.0], 2, 0.0, timedelta(0), 0),
    ("2m: three samples, one request 2 min ago", [0.0, 100.0, 0.0, 0.0], 2, 0.0, 2 * MIN, 1),
    ("1m: two samples, none busy", [0.0, 100.0, 0.0, 0.0], 2, 0.0, MIN, 0),
    ("1m30s: still two samples", [0.0, 100.0, 0.0, 0.0], 2, 0.0, MIN + MIN / 2, 0),
    ("3m: the peak of 2.5 requests", [250.0, 100.0, 0.0, 0.0], 4, 0.0, 3 * MIN, 3),
    ("no spare on what is kept", [0.0, 100.0, 0.0, 0.0], 2, 1.5, 2 * MIN, 1),
    ("gaps are skipped", [100.0, np.nan, np.nan], 2, 0.0, 2 * MIN, 1),
    ("only gaps: nothing kept", [np.nan, np.nan, np.nan], 2, 0.0, 2 * MIN, 0),
    ("never scales out", [0.0, 300.0, 0.0, 0.0], 1, 0.0, 2 * MIN, 1),
    ("never from zero", [0.0, 100.0, 0.0, 0.0], 0, 0.0, 2 * MIN, 0),
]


@pytest.mark.parametrize(
    ("samples", "ready", "spare", "keep", "want"),
    [c[1:] for c in KEEP_WARM_CASES],
    ids=[c[0] for c in KEEP_WARM_CASES],
)
def test_keep_warm(samples: list[float], ready: int, spare: float, keep, want: int) -> None:
    policy = PredictiveTargetPolicy(
        target=1.0,
        tolerance=0.0,
        quantile=0.5,
        stabilization_down=timedelta(0),
        spare=spare,
        react=True,
        keep_warm=keep,
    )
    assert policy.decide(ctx(samples, ready, fc=forecast([0.0] * 6))).desired == want


def test_keep_warm_leaves_a_scale_out_alone() -> None:
    # a forecast above the kept peak: the forecast's count, as without keep_warm
    fc = forecast([500.0] * 6)
    for keep in (timedelta(0), 2 * MIN):
        policy = PredictiveTargetPolicy(
            target=1.0, tolerance=0.0, quantile=0.5, react=True, keep_warm=keep
        )
        assert policy.decide(ctx([100.0, 100.0, 100.0], 1, fc=fc)).desired == 5
