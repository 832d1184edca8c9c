"""The serving cluster against hand-computed cases: every cold start lasts 10 s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.model import CloudError, GroupSpec, ScaleAction
from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.requests import RequestTrace

T0 = datetime(2024, 11, 15, tzinfo=UTC)
COLD = np.array([10.0])


def _trace(arrival, exec_seconds, model=None, ok=None, models=("A", "B")) -> RequestTrace:
    n = len(arrival)
    return RequestTrace(
        T0,
        np.asarray(arrival, dtype=float),
        np.zeros(n, dtype=np.int64) if model is None else np.asarray(model, dtype=np.int64),
        np.asarray(exec_seconds, dtype=float),
        np.ones(n, dtype=bool) if ok is None else np.asarray(ok, dtype=bool),
        models,
    )


def _cluster(trace, groups=("g",), of_model=(0, 0), horizon=200.0) -> ServingCluster:
    return ServingCluster(trace, groups, np.asarray(of_model), COLD, horizon=horizon)


def _scale(c: ServingCluster, t: float, current: int, target: int, group: str = "g") -> None:
    c.advance(t)
    when = T0 + timedelta(seconds=t)
    c.scale(ScaleAction(group, f"{group}-{t}-{target}", when, current, target, "test"))


def _latency(c: ServingCluster) -> list[float]:
    return list(c.started - c.trace.arrival)


def test_fifo_one_request_per_replica_and_cold_start_on_the_new_replica() -> None:
    c = _cluster(_trace([1, 2, 20], [5, 3, 4]))
    _scale(c, 0.0, 0, 1)  # loading until 10
    c.advance(100.0)
    # r0 waits for the cold start (10), r1 for r0 (15), r2 finds the replica warm (20)
    assert _latency(c) == [9.0, 13.0, 0.0]
    assert list(c.behind_cold) == [True, False, False]
    assert c.groups[0].cold_starts == 1
    assert c.gpu_seconds() == pytest.approx(100.0)


def test_two_replicas_serve_the_queue_in_arrival_order() -> None:
    c = _cluster(_trace([11, 12, 13, 14], [10, 10, 1, 1]))
    _scale(c, 0.0, 0, 2)
    c.advance(100.0)
    # both ready at 10; r2 and r3 wait for the first to finish (21), then the second (22)
    assert _latency(c) == [0.0, 0.0, 8.0, 8.0]
    assert c.groups[0].cold_starts == 2
    assert not c.behind_cold.any()


def test_warm_replicas_never_pay_a_cold_start() -> None:
    c = _cluster(_trace([20, 30, 40, 50], [1, 1, 1, 1]))
    _scale(c, 0.0, 0, 1)
    c.advance(100.0)
    assert _latency(c) == [0.0] * 4
    assert c.groups[0].cold_starts == 1 and c.groups[0].switches == 0


def test_a_pooled_replica_switching_model_pays_a_cold_start() -> None:
    # one pool serves A and B; its replica first loads A (the warm-set's pick)
    c = _cluster(_trace([20, 40, 60], [5, 5, 5], model=[1, 1, 0]), of_model=(0, 0))
    _scale(c, 0.0, 0, 1)
    c.advance(200.0)
    # B at 20: the idle A replica switches (cold until 30); B at 40: warm; A at 60: switch back
    assert _latency(c) == [10.0, 0.0, 10.0]
    assert list(c.behind_cold) == [True, False, True]
    g = c.groups[0]
    assert (g.cold_starts, g.switches) == (3, 2)


def test_per_model_groups_keep_their_queues_apart() -> None:
    c = _cluster(_trace([20, 21], [30, 30], model=[0, 1]), groups=("a", "b"), of_model=(0, 1))
    _scale(c, 0.0, 0, 1, "a")
    c.advance(200.0)
    # model B's group has no replica: its request is never served, and A's never waits
    assert c.started[0] == 20.0 and np.isnan(c.started[1])


def test_scale_to_zero_and_back() -> None:
    c = _cluster(_trace([20, 50], [5, 5]), horizon=100.0)
    _scale(c, 0.0, 0, 1)
    _scale(c, 30.0, 1, 0)  # idle since 25: removed at once
    assert c.gpu_seconds() == pytest.approx(30.0)
    c.advance(51.0)  # the request at 50 waits in the queue with no replica
    assert np.isnan(c.started[1])
    _scale(c, 52.0, 0, 1)  # a new replica loads the waiting request's model: ready at 62
    c.advance(100.0)
    assert _latency(c) == [0.0, 12.0]
    assert c.groups[0].cold_starts == 2
    assert c.gpu_seconds() == pytest.approx(30.0 + 48.0)


def test_a_busy_replica_removed_drains_and_is_billed_until_it_finishes() -> None:
    c = _cluster(_trace([20], [30]), horizon=100.0)
    _scale(c, 0.0, 0, 1)
    _scale(c, 25.0, 1, 0)
    c.advance(100.0)
    assert c.started[0] == 20.0
    assert c.gpu_seconds() == pytest.approx(50.0)
    assert c.replica_log[-1] == (50.0, 0)


def test_failed_requests_in_the_trace_are_served_for_their_time() -> None:
    c = _cluster(_trace([20, 21], [7, 1], ok=[False, True]))
    _scale(c, 0.0, 0, 1)
    c.advance(100.0)
    assert _latency(c) == [0.0, 6.0]


def test_an_action_against_a_stale_count_is_refused_and_a_replay_ignored() -> None:
    c = _cluster(_trace([20], [1]))
    _scale(c, 0.0, 0, 2)
    with pytest.raises(CloudError):
        _scale(c, 1.0, 1, 3)
    c.scale(ScaleAction("g", "g-0.0-2", T0, 0, 2, "replayed"))
    assert c.status(GroupSpec("g", 0, 10, 1.0)).total == 2


def test_gpu_seconds_split_into_executing_loading_and_idle() -> None:
    c = _cluster(_trace([1, 2, 20], [5, 3, 4]))
    _scale(c, 0.0, 0, 1)  # loads 0-10, serves 10-15, 15-18, 20-24
    c.advance(100.0)
    g = c.groups[0]
    assert (g.load_seconds, g.exec_seconds) == (10.0, 12.0)
    assert c.gpu_seconds() - g.load_seconds - g.exec_seconds == pytest.approx(78.0)


def test_a_load_cut_short_by_scale_in_counts_until_the_removal() -> None:
    c = _cluster(_trace([50], [5]))
    _scale(c, 0.0, 0, 1)
    _scale(c, 4.0, 1, 0)  # removed 4 s into its 10 s cold start
    assert c.groups[0].load_seconds == 4.0 and c.gpu_seconds() == pytest.approx(4.0)


@pytest.mark.parametrize(("wait", "cold"), [(0.0, 5), (2.0, 5), (10.0, 4)])
def test_a_request_waits_for_a_busy_warm_replica_finishing_within_wait_for_warm(
    wait: float, cold: int
) -> None:
    # three replicas load A (ready 10). B at 11 switches R1 (ready 21, done 22, then idle
    # with B); A at 23 and 24 take R3 and R2 (done 33 and 34). A at 30: R3 finishes in
    # 3 s. Within wait_for_warm it waits for R3; otherwise the idle R1 also switches to A
    # (a cold start, until 40). Either way R3 serves it at 33, the first free
    trace = _trace([11, 23, 24, 30], [1, 10, 10, 1], model=[1, 0, 0, 0])
    c = ServingCluster(trace, ("g",), np.asarray((0, 0)), COLD, horizon=200.0, wait_for_warm=wait)
    _scale(c, 0.0, 0, 3)
    c.advance(200.0)
    assert _latency(c) == [10.0, 0.0, 0.0, 3.0]
    assert c.groups[0].cold_starts == cold
    assert c.groups[0].idle.get(1, []) == ([] if cold == 5 else [c.ids["g-1"]])


def test_concurrency_bins_hold_each_requests_seconds_in_system() -> None:
    # flushes inside one bin, into the next bin and across many bins (2 s bins): each
    # bin holds the overlap of every request's [arrival, finish) with it, in request-s
    arrival = [0.5, 0.7, 1.9, 2.1, 3.99, 4.0, 9.3, 30.0]
    execs = [0.1, 1.5, 0.05, 7.0, 0.01, 2.2, 13.4, 0.3]
    c = _cluster(_trace(arrival, execs), horizon=80.0)
    _scale(c, 0.0, 0, 3)
    c.advance(80.0)
    finish = c.started + np.asarray(execs)
    edges = np.arange(len(c.groups[0].concurrency) + 1) * 2.0
    lo, hi = edges[:-1], edges[1:]
    want = sum(
        np.clip(np.minimum(hi, f) - np.maximum(lo, a), 0.0, None)
        for a, f in zip(arrival, finish, strict=True)
    )
    assert np.allclose(c.groups[0].concurrency, want)
    assert c.groups[0].concurrency[5] > 0  # a whole bin between two flushes is counted
