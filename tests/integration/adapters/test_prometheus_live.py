"""PrometheusSource against a real Prometheus backfilled with real traces."""

from __future__ import annotations

import random
import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.prometheus_source import BearerAuth, PrometheusSource
from autoscaler.model import SourceError
from tests.fakes.auth_proxy import AuthProxy
from tests.fakes.prometheus_server import PrometheusProcess, copy_data, free_port
from tests.integration.adapters.conftest import BackfilledPrometheus

pytestmark = pytest.mark.integration
MIN = timedelta(minutes=1)


def quick_backoff(slept: list[float]) -> Backoff:
    return Backoff(attempts=3, base=0.01, sleep=slept.append, rng=random.Random(0))


def test_range_query_returns_the_trace(prometheus: BackfilledPrometheus) -> None:
    nasa = prometheus.nasa
    start, end = nasa.index[-180], nasa.index[-1]
    s = PrometheusSource(prometheus.url).query("nasa_http_requests", start, end, MIN)
    assert str(s.index.tz) == "UTC" and s.index.is_monotonic_increasing
    assert (s.index == nasa.index[-180:]).all()
    np.testing.assert_array_equal(s.to_numpy(), nasa.iloc[-180:].to_numpy())


def test_long_ranges_are_chunked_and_lose_no_point(prometheus: BackfilledPrometheus) -> None:
    nasa = prometheus.nasa
    assert len(nasa) > 11_000  # more than one query_range answer can hold
    with AuthProxy(prometheus.url) as proxy:
        s = PrometheusSource(proxy.url).query(
            "nasa_http_requests", nasa.index[0], nasa.index[-1], MIN
        )
        assert proxy.requests == 2
    np.testing.assert_array_equal(s.to_numpy(), nasa.to_numpy())
    # Prometheus itself refuses the unsplit range, so the split is what makes this work.
    with pytest.raises(SourceError, match="exceeded maximum resolution"):
        PrometheusSource(prometheus.url, max_points=len(nasa) + 1).query(
            "nasa_http_requests", nasa.index[0], nasa.index[-1], MIN
        )


def test_small_chunks_meet_exactly_at_their_edges(prometheus: BackfilledPrometheus) -> None:
    nasa = prometheus.nasa.iloc[-1000:]
    s = PrometheusSource(prometheus.url, max_points=97).query(
        "nasa_http_requests", nasa.index[0], nasa.index[-1], MIN
    )
    np.testing.assert_array_equal(s.to_numpy(), nasa.to_numpy())


def test_instant_query_and_window(prometheus: BackfilledPrometheus) -> None:
    nasa = prometheus.nasa
    src = PrometheusSource(prometheus.url)
    assert src.instant("nasa_http_requests", nasa.index[-500]) == nasa.iloc[-500]
    assert src.instant("sum(ec2_cpu_utilization)", prometheus.cpu["5f5533"].index[-1]) == (
        pytest.approx(sum(c.iloc[-1] for c in prometheus.cpu.values()))
    )
    w = src.window("nasa_http_requests", nasa.index[-1], timedelta(hours=1), MIN)
    assert len(w) == 60 and w.end == nasa.index[-1]
    np.testing.assert_array_equal(w.values, nasa.iloc[-60:].to_numpy())


def test_range_past_the_data_has_nan_gaps(prometheus: BackfilledPrometheus) -> None:
    last = prometheus.nasa.index[-1]
    s = PrometheusSource(prometheus.url).query(
        "nasa_http_requests", last - 5 * MIN, last + 9 * MIN, MIN
    )
    assert len(s) == 15
    assert s.iloc[:6].notna().all()
    assert s.iloc[-3:].isna().all()  # beyond Prometheus' 5-minute lookback


def test_several_series_where_one_is_expected(prometheus: BackfilledPrometheus) -> None:
    cpu = prometheus.cpu["5f5533"]
    src = PrometheusSource(prometheus.url)
    with pytest.raises(SourceError, match=r"returned 2 series, expected one.*instance="):
        src.query("ec2_cpu_utilization", cpu.index[-10], cpu.index[-1], 5 * MIN)
    total = src.query("sum(ec2_cpu_utilization)", cpu.index[-10], cpu.index[-1], 5 * MIN)
    expected = sum(c.iloc[-10:].to_numpy() for c in prometheus.cpu.values())
    np.testing.assert_allclose(total.to_numpy(), expected)


def test_nan_and_inf_values_are_refused(prometheus: BackfilledPrometheus) -> None:
    end = prometheus.nasa.index[-1]
    src = PrometheusSource(prometheus.url)
    with pytest.raises(SourceError, match="has a NaN value"):
        src.query("flaky_gauge", end - 9 * MIN, end, MIN)
    with pytest.raises(SourceError, match=r"has a \+Inf value"):
        src.query("flaky_gauge", end - 3 * MIN, end, MIN)


def test_no_data_and_bad_queries(prometheus: BackfilledPrometheus) -> None:
    end = prometheus.nasa.index[-1]
    slept: list[float] = []
    src = PrometheusSource(prometheus.url, backoff=quick_backoff(slept))
    with pytest.raises(SourceError, match="no data for 'no_such_metric'"):
        src.query("no_such_metric", end - 10 * MIN, end, MIN)
    with pytest.raises(SourceError, match="no data"):
        src.instant("no_such_metric", end)
    with pytest.raises(SourceError, match=r"failed \(bad_data\)"):
        src.query("rate(nasa_http_requests", end - 10 * MIN, end, MIN)
    assert slept == []  # a bad query is not retried


def test_bearer_and_basic_auth_through_a_proxy(prometheus: BackfilledPrometheus) -> None:
    end = prometheus.nasa.index[-1]
    with AuthProxy(prometheus.url, token="t0ken", user="ops", password="pw") as proxy:
        good = PrometheusSource(proxy.url, auth=BearerAuth("t0ken"))
        assert good.instant("nasa_http_requests", end) == prometheus.nasa.iloc[-1]
        basic = PrometheusSource(proxy.url, auth=requests.auth.HTTPBasicAuth("ops", "pw"))
        assert basic.instant("nasa_http_requests", end) == prometheus.nasa.iloc[-1]
        slept: list[float] = []
        for auth in (BearerAuth("wrong"), None):
            bad = PrometheusSource(proxy.url, auth=auth, backoff=quick_backoff(slept))
            with pytest.raises(SourceError, match=r"refused our credentials \(HTTP 401\)") as exc:
                bad.instant("nasa_http_requests", end)
            assert "wrong" not in str(exc.value)
        assert proxy.rejected == 2 and slept == []


def test_tls_with_a_ca_file(prometheus: BackfilledPrometheus, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    end = prometheus.nasa.index[-1]
    with AuthProxy(prometheus.url, token="t", tls=(str(cert), str(key))) as proxy:
        assert proxy.url.startswith("https://")
        src = PrometheusSource(proxy.url, auth=BearerAuth("t"), ca_file=str(cert))
        assert src.instant("nasa_http_requests", end) == prometheus.nasa.iloc[-1]
        untrusted = PrometheusSource(proxy.url, auth=BearerAuth("t"))
        with pytest.raises(SourceError, match="TLS error"):
            untrusted.instant("nasa_http_requests", end)


def test_server_down(prometheus: BackfilledPrometheus) -> None:
    slept: list[float] = []
    src = PrometheusSource(f"http://127.0.0.1:{free_port()}", backoff=quick_backoff(slept))
    end = prometheus.nasa.index[-1]
    with pytest.raises(SourceError, match=r"cannot reach .*after 3 attempts"):
        src.query("nasa_http_requests", end - 10 * MIN, end, MIN)
    assert len(slept) == 2


def test_server_killed_in_the_middle_of_a_chunked_query(
    prometheus: BackfilledPrometheus, tmp_path: Path
) -> None:
    own = PrometheusProcess(copy_data(prometheus.data_dir, tmp_path / "data"), tmp_path)
    nasa = prometheus.nasa

    def kill_before_second_chunk(n: int) -> None:
        if n == 2:
            own.kill()

    slept: list[float] = []
    try:
        with AuthProxy(own.url, on_request=kill_before_second_chunk) as proxy:
            src = PrometheusSource(proxy.url, backoff=quick_backoff(slept))
            with pytest.raises(SourceError, match=r"cannot reach .*after 3 attempts"):
                src.query("nasa_http_requests", nasa.index[0], nasa.index[-1], MIN)
            assert proxy.requests == 4  # the first chunk, then the second tried three times
    finally:
        own.stop()


def test_answer_cut_short(prometheus: BackfilledPrometheus) -> None:
    end = prometheus.nasa.index[-1]
    slept: list[float] = []
    with AuthProxy(prometheus.url, cut_after=40) as proxy:
        src = PrometheusSource(proxy.url, backoff=quick_backoff(slept))
        with pytest.raises(SourceError, match="prometheus: "):
            src.query("nasa_http_requests", end - 60 * MIN, end, MIN)


def test_a_slow_server_times_out_and_is_retried(prometheus: BackfilledPrometheus) -> None:
    end = prometheus.nasa.index[-1]
    slept: list[float] = []
    with AuthProxy(prometheus.url, delay=0.6) as proxy:
        src = PrometheusSource(proxy.url, timeout=0.2, backoff=quick_backoff(slept))
        with pytest.raises(SourceError, match=r"cannot reach .*ReadTimeout.*after 3 attempts"):
            src.instant("nasa_http_requests", end)
        assert proxy.requests == 3 and len(slept) == 2
        patient = PrometheusSource(proxy.url, timeout=5)
        assert patient.instant("nasa_http_requests", end) == prometheus.nasa.iloc[-1]
