"""The Knative-KPA-like rule as a table of cases: 2 s samples, 60 s stable window (30
samples), 6 s panic window (3 samples), target 1 request per replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.model import GroupSpec, GroupStatus, MetricWindow, PolicyContext
from autoscaler.policies.kpa import KpaPolicy

NOW = datetime(2024, 12, 1, 12, tzinfo=UTC)
STEP = timedelta(seconds=2)
SPEC = GroupSpec("sd", 0, 64, 1.0, interval=STEP)


def _ctx(values, ready, booting=0, memory=None) -> PolicyContext:
    window = MetricWindow(NOW, STEP, np.asarray(values, dtype=float))
    return PolicyContext(NOW, SPEC, GroupStatus(ready, booting), window, None, memory)


def _mem(since: float | None, max_panic: int = 0, nonzero: float | None = None) -> dict:
    """Memory with times given as seconds before NOW."""
    t = NOW.timestamp()
    return {
        "panic_since": None if since is None else t - since,
        "max_panic": max_panic,
        "last_nonzero": None if nonzero is None else t - nonzero,
    }


FLAT2 = [2.0] * 30
BURST = [1.0] * 27 + [4.0] * 3
CALM = [1.0] * 30
ZERO = [0.0] * 30

# (case, window, ready, booting, memory, desired, in panic afterwards)
CASES = [
    ("stable: concurrency 2 keeps 2", FLAT2, 2, 0, None, 2, False),
    ("panic entered: panic count 4 is twice ready", BURST, 1, 0, None, 4, True),
    ("panic holds: never lower than the panic peak", CALM, 5, 0, _mem(10, 5), 5, True),
    ("panic holds while booting replicas count", CALM, 2, 3, _mem(59, 5), 5, True),
    ("panic ends a stable window after its last trigger", CALM, 5, 0, _mem(61, 5), 2, False),
    ("scale-in at most halves the ready count", CALM, 8, 0, None, 4, False),
    ("panic re-triggered late in the window starts anew", BURST, 2, 0, _mem(50, 4), 4, True),
    ("to zero within the grace: hold", ZERO, 1, 0, _mem(None, 0, 10), 1, False),
    ("to zero after the grace", ZERO, 1, 0, _mem(None, 0, 31), 0, False),
    ("from zero: a queued request asks for one replica", [0.0] * 29 + [0.6], 0, 0, None, 1, False),
    ("from zero: a burst panics (ready is one)", [0.0] * 27 + [3.0] * 3, 0, 0, None, 3, True),
    ("stays at zero with no traffic", ZERO, 0, 0, None, 0, False),
]


@pytest.mark.parametrize(
    ("case", "values", "ready", "booting", "memory", "desired", "panic"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_kpa_rule(case, values, ready, booting, memory, desired, panic) -> None:
    d = KpaPolicy(target=1.0).decide(_ctx(values, ready, booting, memory))
    assert d.desired == desired, d.reason
    assert (d.memory["panic_since"] is not None) == panic


def test_scale_up_rate_limit() -> None:
    d = KpaPolicy(target=1.0, max_scale_up_rate=2.0).decide(_ctx([10.0] * 30, 2))
    assert d.desired == 4


def test_no_sample_holds() -> None:
    d = KpaPolicy().decide(_ctx([np.nan] * 30, 3))
    assert d.desired == 3 and "no concurrency" in d.reason


def test_unreadable_memory_starts_fresh() -> None:
    d = KpaPolicy(target=1.0).decide(_ctx(FLAT2, 2, memory={"panic_since": "soon"}))
    assert d.desired == 2 and d.memory["panic_since"] is None
