"""predictive_target's whole spare instances (floor(spare x sqrt(n))) and its scale-out
on the observed load, as a table of cases (the test group: one instance carries 100/s)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autoscaler.policies.base import instances_for, staffed
from autoscaler.policies.predictive_target import PredictiveTargetPolicy

from .helpers import SPEC, ctx, forecast

SPARE_CASES = [
    # (id, forecast or None, observed, ready, target, tolerance, spare, react, want)
    ("no spare: the plain rule", [700.0] * 6, [700.0], 5, 0.7, 0.0, 0.0, False, 10),
    ("spare 1 on 9 instances' load: 9 + 3", [900.0] * 6, [900.0], 9, 1.0, 0.0, 1.0, False, 12),
    ("spare 0.9 on 9: 9 + floor(2.7)", [900.0] * 6, [900.0], 9, 1.0, 0.0, 0.9, False, 11),
    ("spare 0.5 on 4: 4 + 1", [400.0] * 6, [400.0], 4, 1.0, 0.0, 0.5, False, 5),
    ("spare 1 on one instance's load: 2", [100.0] * 6, [100.0], 1, 1.0, 0.0, 1.0, False, 2),
    ("spare 0.9 on a lone request: none", [100.0] * 6, [100.0], 1, 1.0, 0.0, 0.9, False, 1),
    ("spare 0.9 on a part request: none", [30.0] * 6, [30.0], 1, 1.0, 0.0, 0.9, False, 1),
    ("spare 0.9 on 2: 2 + 1", [200.0] * 6, [200.0], 2, 1.0, 0.0, 0.9, False, 3),
    ("spare then target: (4 + 2) / 0.75", [400.0] * 6, [400.0], 4, 0.75, 0.0, 1.0, False, 8),
    ("no load, no spare replica", [0.0] * 6, [0.0], 3, 1.0, 0.0, 1.0, False, 0),
    ("spare inside the dead band: hold", [900.0] * 6, [900.0], 11, 1.0, 0.1, 1.0, False, 11),
    ("spare outside the dead band: up", [900.0] * 6, [900.0], 10, 1.0, 0.1, 1.0, False, 12),
    ("forecast lags, react off: forecast", [500.0] * 6, [900.0], 4, 1.0, 0.0, 0.0, False, 5),
    ("forecast lags, react on: observed", [500.0] * 6, [900.0], 4, 1.0, 0.0, 0.0, True, 9),
    ("forecast above observed, react on", [900.0] * 6, [500.0], 4, 1.0, 0.0, 0.0, True, 9),
    ("react on, no sample: forecast", [500.0] * 6, [np.nan], 4, 1.0, 0.0, 0.0, True, 5),
    ("react and spare", [500.0] * 6, [900.0], 4, 1.0, 0.0, 1.0, True, 12),
    ("no forecast: observed plus spare", None, [900.0], 4, 1.0, 0.0, 1.0, False, 12),
]


@pytest.mark.parametrize(
    ("values", "observed", "ready", "target", "tolerance", "spare", "react", "want"),
    [c[1:] for c in SPARE_CASES],
    ids=[c[0] for c in SPARE_CASES],
)
def test_predictive_target_spare_and_react(
    values, observed, ready, target, tolerance, spare, react, want
) -> None:
    policy = PredictiveTargetPolicy(
        target=target, tolerance=tolerance, quantile=0.5, spare=spare, react=react
    )
    fc = None if values is None else forecast(values)
    assert policy.decide(ctx(observed, ready, fc=fc)).desired == want


@pytest.mark.parametrize(
    ("load", "spare", "want"),
    [
        (400.0, 0.0, 4.0),
        (900.0, 1.0, 12.0),
        (100.0, 2.0, 3.0),
        (0.0, 1.0, 0.0),
        (-5.0, 1.0, 0.0),
        (math.nan, 1.0, 0.0),
        (math.inf, 1.0, 0.0),
    ],
)
def test_staffed(load: float, spare: float, want: float) -> None:
    assert staffed(load, SPEC, spare) == want


def test_no_spare_counts_as_before() -> None:
    # the plain rule's own arithmetic: 70 / (100 x 0.7) is 1 exactly, not 2
    assert instances_for(70.0, SPEC, 0.7) == 1
    assert instances_for(70.0, SPEC, 0.7, 0.0) == math.ceil(70.0 / (100.0 * 0.7) - 1e-9)
