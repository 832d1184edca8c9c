"""The host-memory model cache: which loads are fast, where new replicas go, and which
idle replica switches. Measured latencies here: 2 s (fast mode) and 30 s (slow mode)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from autoscaler.model import ScaleAction
from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.host_cache import HostCache, LoadTimes
from tests.unit.serving.test_warm_set import T0, trace_of

LAT = np.array([2.0, 30.0])


def _cluster(arrival, model, cache: HostCache, models=("A", "B", "C")) -> ServingCluster:
    trace = trace_of(arrival, model, models)
    of_model = np.zeros(len(models), dtype=np.int64)
    return ServingCluster(trace, ("pool",), of_model, LAT, horizon=300.0, host_cache=cache)


def _scale(c: ServingCluster, t: float, current: int, target: int) -> None:
    c.advance(t)
    c.scale(ScaleAction("pool", f"s{t}", T0 + timedelta(seconds=t), current, target, "test"))


def _latency(c: ServingCluster) -> list[float]:
    return list(c.started - c.trace.arrival)


def test_draw_keeps_the_last_models_loaded_newest_last() -> None:
    loads = LoadTimes(LAT, HostCache(models=2), np.random.default_rng(0))
    held: list[int] = []
    assert loads.draw(held, 0) == (30.0, False)
    assert loads.draw(held, 1) == (30.0, False)
    assert held == [0, 1]
    assert loads.draw(held, 0) == (2.0, True)  # in host memory: the fast mode
    assert held == [1, 0]
    assert loads.draw(held, 2) == (30.0, False)  # 1, the oldest, is dropped
    assert held == [0, 2]
    assert loads.draw(held, 1) == (30.0, False)


def test_no_cache_draws_from_every_measured_latency() -> None:
    loads = LoadTimes(LAT, HostCache(models=0), np.random.default_rng(0))
    held: list[int] = []
    draws = {loads.draw(held, 0) for _ in range(200)}
    assert draws == {(2.0, False), (30.0, False)} and held == []


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        (HostCache(models=1, fast_below=1.0), "leaves no measured load under it"),
        (HostCache(models=1, fast_below=31.0), "at or over it"),
    ],
)
def test_a_split_leaving_a_mode_empty_is_refused(cache: HostCache, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoadTimes(LAT, cache, np.random.default_rng(0))


@pytest.mark.parametrize(("models", "latency", "hits"), [(2, [30, 2, 2], 2), (1, [30, 30, 51], 0)])
def test_a_replica_switching_back_to_a_model_in_host_memory_loads_fast(
    models: int, latency: list[float], hits: int
) -> None:
    # one replica loads A (slow, ready 30); B at 40 switches it (slow, served at 70, done
    # 71); A at 80 and B at 90 switch it back: from host memory when it keeps two models
    # (2 s each); from storage when it keeps one (A served 110-111, so B waits until 141)
    c = _cluster([40, 80, 90], [1, 0, 1], HostCache(models=models))
    _scale(c, 0.0, 0, 1)
    c.advance(300.0)
    assert _latency(c) == latency
    g = c.groups[0]
    assert (g.cold_starts, g.cache_hits) == (4, hits)


@pytest.mark.parametrize(("hosts", "latency"), [(1, 4.0), (0, 32.0)])
def test_a_new_replica_goes_to_the_free_host_holding_its_model(hosts: int, latency: float) -> None:
    # a replica loads A (slow, ready 30) and serves A at 40; removed at 50; A at 60 waits
    # for the replica added at 62, which loads A: from its host's memory when hosts outlive
    # their replicas (ready 64), else from storage (ready 92)
    c = _cluster([40, 60], [0, 0], HostCache(models=1, hosts=hosts))
    _scale(c, 0.0, 0, 1)
    _scale(c, 50.0, 1, 0)
    _scale(c, 62.0, 0, 1)
    c.advance(300.0)
    assert _latency(c) == [0.0, latency]


@pytest.mark.parametrize(("affinity", "latency"), [(True, 2.0), (False, 30.0)])
def test_the_idle_replica_holding_the_model_in_host_memory_switches(
    affinity: bool, latency: float
) -> None:
    # two replicas load A (ready 30). B at 40 switches R1 (ties go to the first; served
    # 70-71); A at 75 finds R2 warm (done 76); C at 80 switches R1, the least recently
    # used (host memory now B, C; served 110-111). B at 120: R2 (A, last used 76) is the
    # least recently used, but R1 holds B in host memory: with affinity R1 switches (fast)
    c = _cluster([40, 75, 80, 120], [1, 0, 2, 1], HostCache(models=2, affinity=affinity))
    _scale(c, 0.0, 0, 2)
    c.advance(300.0)
    assert _latency(c) == [30.0, 0.0, 30.0, latency]
