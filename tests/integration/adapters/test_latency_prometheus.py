"""The measured p95 read from a real Prometheus: a request-duration histogram backfilled
with promtool, read through ``histogram_quantile`` by the query qos's group names, and
the engine handing it to qos, whose feedback then counts violations on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.adapters.prometheus_source import PrometheusSource
from autoscaler.config import LatencyMetricConfig
from autoscaler.engine import Engine, GroupBinding
from autoscaler.latency_metric import latency_query
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import GroupSpec
from autoscaler.policies.qos import QosPolicy, QosState
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud
from tests.fakes.prometheus_server import PrometheusProcess, Series, backfill

MIN = timedelta(minutes=1)
BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0, float("inf"))
RATE = 100.0  # requests per second
HOURS = 2
SLO = 0.2


def _p95_scale(p95: float) -> float:
    """The mean of an exponential latency whose 95th percentile is ``p95``."""
    return p95 / -np.log(0.05)


class Backfilled:
    def __init__(self, server: PrometheusProcess, end: datetime, p95: np.ndarray) -> None:
        self.server, self.end, self.p95 = server, end, p95


@pytest.fixture(scope="module")
def histogram(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("Debian's prometheus package is not installed (make system-deps installs it)")
    work = tmp_path_factory.mktemp("latency-prometheus")
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    n = HOURS * 60
    stamps = [(end - (n - 1 - i) * MIN).timestamp() for i in range(n)]
    # The first hour is fast (p95 120 ms), the second slow (p95 320 ms): an overloaded
    # service whose load alone would not say so.
    p95 = np.where(np.arange(n) < 60, 0.12, 0.32)
    per_minute = RATE * 60
    series = []
    for le in BUCKETS:
        share = 1.0 if np.isinf(le) else 1.0 - np.exp(-le / _p95_scale(p95))
        counts = np.cumsum(np.round(per_minute * share * np.ones(n)))
        label = "+Inf" if np.isinf(le) else f"{le:g}"
        series.append(
            Series(
                "http_request_duration_seconds_bucket",
                {"job": "web", "instance": "a", "le": label},
                stamps,
                counts.tolist(),
            )
        )
    load = [RATE] * n
    series.append(Series("web_requests_per_second", {"job": "web"}, stamps, load))
    backfill(series, work / "data", work)
    server = PrometheusProcess(work / "data", work)
    try:
        yield Backfilled(server, end, p95)
    finally:
        server.stop()


def _query() -> str:
    cfg = LatencyMetricConfig(
        kind="histogram",
        query='http_request_duration_seconds_bucket{job="web"}',
        rate_window=timedelta(minutes=2),
    )
    return latency_query(cfg)


def test_histogram_quantile_gives_the_p95_per_minute(histogram: Backfilled) -> None:
    window = PrometheusSource(histogram.server.url).window(
        _query(), histogram.end, timedelta(minutes=HOURS * 60 - 5), MIN
    )
    values = window.values
    assert np.isfinite(values).all()
    fast, slow = values[: 60 - 8], values[-50:]  # away from the change and its rate window
    # histogram_quantile interpolates inside the bucket that holds the 95th percentile
    assert ((fast > 0.1) & (fast <= 0.2)).all() and (fast <= SLO).all()
    assert ((slow > 0.3) & (slow <= 0.4)).all() and (slow > SLO).all()


def test_qos_counts_violations_on_the_measured_latency(histogram: Backfilled) -> None:
    spec = GroupSpec("web", 1, 20, 100.0, boot_delay=timedelta(minutes=2), slo_p95_seconds=SLO)
    source = PrometheusSource(histogram.server.url)
    cloud = SimCloud(BootDelay("fixed", timedelta(minutes=2)), seed=0)
    start = histogram.end - timedelta(minutes=50)
    cloud.create_group("web", 4, start)  # 4 x 100/s for 100/s: the model sees no problem
    store = MemoryStateStore()
    policy = QosPolicy(target_violation_pct=1.0)
    binding = GroupBinding(
        spec,
        [policy],
        source,
        cloud,
        query='web_requests_per_second{job="web"}',
        latency_source=source,
        latency_query=_query(),
    )
    state = _run(Engine([binding], store), cloud, start, store, policy)
    assert state.measured == state.samples >= 10
    assert state.violations == state.measured  # every slow minute counted
    assert state.band > policy.band
    # the same group without the latency metric: the inference sees nothing wrong
    cloud = SimCloud(BootDelay("fixed", timedelta(minutes=2)), seed=0)
    cloud.create_group("web", 4, start)
    store = MemoryStateStore()
    blind = GroupBinding(spec, [policy], source, cloud, query=binding.query)
    state = _run(Engine([blind], store), cloud, start, store, policy)
    assert (state.violations, state.measured) == (0, 0)


def _run(
    engine: Engine, cloud: SimCloud, start: datetime, store: MemoryStateStore, policy: QosPolicy
) -> QosState:
    for k in range(10):
        now = start + k * MIN
        cloud.advance(now)
        outcome = engine.tick(now)[0]
        assert outcome.ok, outcome.error
    return QosState.from_json(store.policy_memory("web", policy.name))
