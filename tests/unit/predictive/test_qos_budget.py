"""qos's violation rate follows its budget (slo.target_violation_pct) in the simulator,
on synthetic bursty, step and flat minute loads, and on one with a daily stretch of zero
load, at 1 % and 5 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.config import parse_config
from autoscaler.simulation import build_scenario, run_policy
from autoscaler.simulator.scoring import required_instances
from autoscaler.traces import Trace

STEPS = 3 * 1440


def _load(kind: str, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS)
    if kind == "flat":
        return 0.6 * rng.lognormal(0.0, 0.1, STEPS)
    if kind == "step":  # the level doubles or halves every 6 hours
        level = np.where((t // 360) % 2 == 0, 0.35, 0.7)
        return level * rng.lognormal(0.0, 0.1, STEPS)
    if kind == "quiet-nights":  # 8 zero hours a day; bursts also come out of them
        x = (0.55 + 0.3 * np.sin(2 * np.pi * t / 1440)) * rng.lognormal(0.0, 0.12, STEPS)
        x[(t % 1440) < 480] = 0.0
        for s in np.flatnonzero(rng.random(STEPS) < 1 / 120):
            x[s : s + rng.integers(1, 6)] = rng.uniform(0.3, 0.9)
        return x
    # bursty: a daily wave with bursts of 1-8 minutes at 1.5-3x, one every 1.5 hours
    x = (0.55 + 0.35 * np.sin(2 * np.pi * t / 1440)) * rng.lognormal(0.0, 0.12, STEPS)
    for s in np.flatnonzero(rng.random(STEPS) < 1 / 90):
        x[s : s + rng.integers(1, 9)] *= rng.uniform(1.5, 3.0)
    return x


def _rate(kind: str, budget: float) -> float:
    index = pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=STEPS, freq="1min")
    trace = Trace(kind, pd.Series(_load(kind), index=index), timedelta(minutes=1))
    group = {"name": "web", "slo": {"target_violation_pct": budget}, "policies": [{"kind": "qos"}]}
    scn = build_scenario(trace, parse_config({"groups": [group]}))
    required = required_instances(scn.load, scn.service, scn.spec.max_size)
    return run_policy(scn, "qos", required).score.slo_violation_pct


@pytest.mark.parametrize("kind", ["bursty", "step", "flat", "quiet-nights"])
def test_violation_rate_follows_the_budget(kind: str) -> None:
    tight, loose = _rate(kind, 1.0), _rate(kind, 5.0)
    assert 0.4 <= tight <= 1.5, tight
    assert 2.5 <= loose <= 7.5, loose
