"""The serving replay's measured latency (``serving.measured_latency``), against
hand-computed cases: 2 s bins, every cold start 10 s, one replica from time 0."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from autoscaler.config import parse_config
from autoscaler.model import ScaleAction
from autoscaler.serving_wiring import serving_wiring
from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.latency import ServingLatencySource
from tests.unit.serving.one_model import T0, one_model_cluster

STEP = timedelta(seconds=2)
NAN = float("nan")


def _cluster(arrival: list[float], exec_seconds: list[float]) -> ServingCluster:
    c = one_model_cluster(arrival, exec_seconds)
    c.scale(ScaleAction("g", "up", T0, 0, 1, "test"))  # ready at 10 s
    return c


def _read(src: ServingLatencySource, t: float) -> list[float]:
    src.cluster.advance(t)
    return list(src.window("", T0 + timedelta(seconds=t), timedelta(minutes=1), STEP).values)


def _same(got: list[float], want: list[float]) -> bool:
    if len(got) != len(want):
        return False
    pairs = zip(got, want, strict=True)
    return all((math.isnan(a) and math.isnan(b)) or a == pytest.approx(b) for a, b in pairs)


# r0 arrives at 1 s, starts at 10 s (the cold start ends): waits 9 s, bin 5;
# r1 at 2 s waits behind r0 (5 s) until 15 s: 13 s, bin 7;
# r2 at 16.5 s finds the replica idle: 0 s; r3 at 16.8 s waits until 17.5 s: 0.7 s;
# both start in bin 8 [16, 18): its p95 is 0 + 0.95 x 0.7 = 0.665 s.
ARRIVAL, EXEC = [1.0, 2.0, 16.5, 16.8], [5.0, 1.0, 1.0, 1.0]
SAMPLES = [NAN] * 5 + [9.0, NAN, 13.0, 0.665]


def test_each_bin_holds_the_p95_wait_of_the_requests_that_started_in_it() -> None:
    src = ServingLatencySource(_cluster(ARRIVAL, EXEC), "g", delay=0.0)
    assert _same(_read(src, 18.0), SAMPLES)
    # a bin that is not over is not read: at 11 s r0 has started, but [10, 12) is open
    early = ServingLatencySource(_cluster(ARRIVAL, EXEC), "g", delay=0.0)
    assert _same(_read(early, 11.0), [NAN] * 5)


def test_a_sample_is_readable_a_delay_after_its_bin_and_offset() -> None:
    src = ServingLatencySource(_cluster(ARRIVAL, EXEC), "g", delay=3.0, offset=100.0)
    # at 16 s the bins over by 13 s are readable: 0-5 (bin 5 ends at 12 s)
    assert _same(_read(src, 16.0), [NAN] * 5 + [109.0])
    # read at 21 s before the cluster has run past 16 s: only the bins over by then
    ahead = src.window("", T0 + timedelta(seconds=21), timedelta(minutes=1), STEP)
    assert _same(list(ahead.values), [NAN] * 5 + [109.0, NAN, 113.0])
    # at 21 s: bins 0-8; the window ends at bin 8's start
    assert _same(_read(src, 21.0), [x + 100.0 for x in SAMPLES])
    window = src.window("", T0 + timedelta(seconds=21), timedelta(minutes=1), STEP)
    assert window.end == T0 + 8 * STEP
    with pytest.raises(ValueError, match="delay must not be negative"):
        ServingLatencySource(_cluster(ARRIVAL, EXEC), "g", delay=-1.0)


def test_the_wiring_delivers_it_only_when_on_and_on_the_slo_s_scale() -> None:
    group = {"name": "g", "slo": {"p95_latency": "60s"}, "policies": [{"kind": "qos"}]}
    off = parse_config({"serving": {}, "groups": [group]})
    on = parse_config(
        {"serving": {"measured_latency": True, "latency_delay": "4s"}, "groups": [group]}
    )
    assert off.serving.measured_latency is False  # off by default
    c = _cluster(ARRIVAL, EXEC)
    g = off.groups[0]
    assert serving_wiring(g, off.serving, "g", ["qos"], 20.0).latency_source(c, "g") is None
    qos = serving_wiring(g, on.serving, "g", ["qos"], 20.0)
    src = qos.latency_source(c, "g")
    assert src is not None and src.delay == 4.0
    # qos on the rate checks a response time: 60 s + 20 s x ln 20; the wait gets the
    # service's allowance added, so a sample is over that SLO exactly when the wait is
    # over 60 s
    assert src.offset == pytest.approx(20.0 * math.log(20))
    assert qos.spec.slo_p95_seconds - src.offset == pytest.approx(60.0)
    kpa = serving_wiring(g, on.serving, "g", ["kpa"], 20.0).latency_source(c, "g")
    assert kpa is not None and kpa.offset == 0.0  # on concurrency the SLO is the wait's
