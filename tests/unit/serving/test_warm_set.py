"""The warm-set policy (which models idle pooled replicas keep): tables of cases for the
pure rules, and hand-computed replays on the cluster (every cold start lasts 10 s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.config import WarmSetConfig
from autoscaler.model import ScaleAction
from autoscaler.registry import build_warm_set
from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.requests import RequestTrace
from autoscaler.simulator.serving.warm_set import IdleReplica, ModelScores, WarmSetPolicy

T0 = datetime(2024, 11, 15, tzinfo=UTC)
LRU = WarmSetPolicy("lru")
POPULAR = WarmSetPolicy("popular", half_life_seconds=1e9, switch_ratio=2.0)


@pytest.mark.parametrize(
    ("policy", "idle", "scores", "order"),
    [
        # lru: least recently used first, whatever the models' scores
        (LRU, [(0, 5.0), (1, 1.0), (0, 9.0)], [10, 1], [1, 0, 2]),
        # popular: a model's score shared among its idle replicas; least worth first
        (POPULAR, [(0, 5.0), (0, 9.0), (1, 1.0)], [10, 3], [2, 0, 1]),  # A 5 each, B 3
        (POPULAR, [(0, 5.0), (0, 9.0), (1, 1.0)], [4, 3], [0, 1, 2]),  # A 2 each, B 3
        # equal worth: least recently used first
        (POPULAR, [(0, 5.0), (1, 1.0)], [2, 2], [1, 0]),
        (POPULAR, [], [1, 1], []),
    ],
)
def test_removal_order(policy, idle, scores, order) -> None:
    reps = [IdleReplica(m, t) for m, t in idle]
    assert policy.removal_order(reps, np.asarray(scores, dtype=float)) == order
    assert policy.victim(reps, np.asarray(scores, dtype=float)) == (order[0] if order else None)


@pytest.mark.parametrize(
    ("policy", "own", "warm", "scores", "expected"),
    [
        (POPULAR, 0, {0: 1}, [10, 8, 0], None),  # own worth 5; B 8 < 2 x 5
        (WarmSetPolicy("popular", switch_ratio=1.5), 0, {0: 1}, [10, 8, 0], 1),  # 8 >= 7.5
        (POPULAR, 0, {}, [1, 3, 2], 1),  # own worth 1: B, the best unheld, 3 >= 2
        (POPULAR, 0, {1: 1}, [1, 3, 2], 2),  # B is held: C, 2 >= 2
        (POPULAR, 0, {1: 1, 2: 1}, [1, 3, 2], None),  # every other model is held
        (POPULAR, 0, {}, [0, 0, 0], None),  # no arrivals yet: nothing worth a cold start
        (LRU, 0, {}, [1, 30, 20], None),  # lru never re-warms
    ],
)
def test_rewarm(policy, own, warm, scores, expected) -> None:
    assert policy.rewarm(own, warm, (0, 1, 2), np.asarray(scores, dtype=float)) == expected


def test_new_model_is_the_best_score_per_replica_holding_it() -> None:
    scores = np.array([6.0, 4.0, 1.0])
    assert POPULAR.new_model((0, 1, 2), {}, scores) == 0
    assert POPULAR.new_model((0, 1, 2), {0: 1}, scores) == 1  # 6 / 2 < 4
    assert POPULAR.new_model((0, 1, 2), {0: 2, 1: 1}, scores) == 0  # 6 / 3 = 4 / 2: lower id
    assert POPULAR.new_model((0, 1, 2), {}, np.zeros(3)) == 0


def test_scores_decay_with_the_half_life_and_lru_counts_for_ever() -> None:
    s = ModelScores(2, 600.0)
    s.bump(0, 0.0)
    s.bump(0, 600.0)  # 1 halved, plus 1
    assert s.at(1200.0) == pytest.approx([0.75, 0.0])
    counts = ModelScores(2, LRU.decay_seconds)
    for t in (0.0, 1e6, 2e6):
        counts.bump(1, t)
    assert list(counts.at(3e6)) == [0.0, 3.0]


@pytest.mark.parametrize(
    "kwargs",
    [{"kind": "fifo"}, {"half_life_seconds": 0.0}, {"switch_ratio": 0.5}],
)
def test_bad_settings_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        WarmSetPolicy(**kwargs)


def test_the_registry_builds_the_configured_policy() -> None:
    cfg = WarmSetConfig(kind="popular", half_life=timedelta(minutes=5), switch_ratio=3.0)
    assert build_warm_set(cfg) == WarmSetPolicy("popular", 300.0, 3.0)
    assert build_warm_set(WarmSetConfig()).kind == "lru"


def trace_of(arrival, model, models=("A", "B", "C")) -> RequestTrace:
    """Requests at ``arrival`` (s) for ``model`` (indices into ``models``), each 1 s of
    GPU time with a known model."""
    n = len(arrival)
    return RequestTrace(
        T0,
        np.asarray(arrival, dtype=float),
        np.asarray(model, dtype=np.int64),
        np.ones(n),
        np.ones(n, dtype=bool),
        models,
    )


def _run(policy: WarmSetPolicy, arrival, model, replicas: int) -> ServingCluster:
    trace = trace_of(arrival, model)
    c = ServingCluster(trace, ("pool",), np.zeros(3), np.array([10.0]), warm_set=policy)
    c.scale(ScaleAction("pool", "up", T0, 0, replicas, "test"))
    c.advance(200.0)
    return c


def test_a_free_replica_rewarms_to_the_more_requested_model() -> None:
    # one replica, GPU time 1 s: loads A (ready 10); B x3 from 20 switch it (ready 30,
    # served 30, 31, 32); A at 50 switches it back (ready 60, done 61); then popular
    # re-loads B (3 arrivals against A's 1) while idle, so B at 80 finds it warm
    arrival, model = [20, 21, 22, 50, 80], [1, 1, 1, 0, 1]
    pop = _run(POPULAR, arrival, model, 1)
    lru = _run(LRU, arrival, model, 1)
    assert list(pop.started - pop.trace.arrival) == [10, 10, 10, 10, 0]
    assert list(lru.started - lru.trace.arrival) == [10, 10, 10, 10, 10]
    assert list(pop.behind_cold) == [True, False, False, True, False]
    # the same four cold starts; popular paid its last one while idle
    assert pop.groups[0].cold_starts == lru.groups[0].cold_starts == 4
    assert pop.gpu_seconds() == lru.gpu_seconds() == pytest.approx(200.0)


def test_the_victim_is_the_least_wanted_model_not_the_least_recently_used() -> None:
    # two replicas load A (ready 10); A x3 at 20-22 keep one busy; B at 30 switches the
    # other (unused since 0; ready 40, done 41); C at 50: lru switches the A replica
    # (last used 23, before B's 41), popular the B one (A scores 3, B 1); so A at 70
    # waits a cold start under lru only
    arrival, model = [20, 21, 22, 30, 50, 70], [0, 0, 0, 1, 2, 0]
    pop = _run(POPULAR, arrival, model, 2)
    lru = _run(LRU, arrival, model, 2)
    assert list(pop.started - pop.trace.arrival) == [0, 0, 0, 10, 10, 0]
    assert list(lru.started - lru.trace.arrival) == [0, 0, 0, 10, 10, 10]
