"""PrometheusSource against scripted HTTP answers (a fake session passed in): the answers a
live server rarely gives on demand — 429/503 with Retry-After, malformed bodies."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.prometheus_source import PrometheusSource
from autoscaler.model import SourceError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r.headers.update(headers or {})
    return r


def matrix(points: Iterable[tuple[float, str]]) -> dict[str, Any]:
    values = [[t, v] for t, v in points]
    result = [{"metric": {}, "values": values}] if values else []
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


class ScriptedSession(requests.Session):
    """Answers each GET with the next scripted response (or raises it)."""

    def __init__(self, script: list[requests.Response | Exception]) -> None:
        super().__init__()
        self.script = script
        self.calls: list[dict[str, Any]] = []

    def get(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append({"url": url, **kwargs})
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def source(script: list[requests.Response | Exception], slept: list[float]) -> PrometheusSource:
    backoff = Backoff(attempts=3, sleep=slept.append, rng=random.Random(0))
    return PrometheusSource("http://prom:9090/", session=ScriptedSession(script), backoff=backoff)


OK = matrix([(T0.timestamp(), "1"), ((T0 + MIN).timestamp(), "2")])


def test_retries_429_and_503_honouring_retry_after() -> None:
    slept: list[float] = []
    src = source(
        [answer(429, {}, {"Retry-After": "7"}), answer(503, b"overloaded"), answer(200, OK)],
        slept,
    )
    s = src.query("up", T0, T0 + MIN, MIN)
    assert s.tolist() == [1.0, 2.0]
    assert slept[0] == 7.0 and 0 <= slept[1] <= 1.0 and len(slept) == 2


def test_transport_errors_are_retried_then_reported() -> None:
    slept: list[float] = []
    boom = requests.ConnectionError("refused")
    src = source([boom, boom, boom], slept)
    with pytest.raises(SourceError, match=r"cannot reach http://prom:9090.*after 3 attempts"):
        src.query("up", T0, T0 + MIN, MIN)
    assert len(slept) == 2


@pytest.mark.parametrize(
    ("resp", "message"),
    [
        (answer(200, b"<html>proxy error</html>"), "not JSON"),
        (answer(200, [1, 2]), "not an object"),
        (answer(200, {"status": "success"}), "no data object"),
        (
            answer(400, {"status": "error", "errorType": "bad_data", "error": "parse error"}),
            r"failed \(bad_data\): parse error",
        ),
        (
            answer(200, {"status": "success", "data": {"resultType": "vector", "result": []}}),
            "expected a matrix",
        ),
        (answer(200, matrix([(T0.timestamp(), "abc")])), "non-numeric sample"),
        (answer(200, matrix([(T0.timestamp(), "NaN")])), "has a NaN value"),
        (answer(403, b"forbidden"), "refused our credentials"),
    ],
)
def test_unusable_answers_raise_at_once(resp: requests.Response, message: str) -> None:
    slept: list[float] = []
    with pytest.raises(SourceError, match=message):
        source([resp], slept).query("up", T0, T0 + MIN, MIN)
    assert slept == []


def test_ranges_are_split_into_calls_of_at_most_max_points() -> None:
    stamps = [(T0 + k * MIN).timestamp() for k in range(25)]
    chunks = [stamps[0:10], stamps[10:20], stamps[20:25]]
    session = ScriptedSession([answer(200, matrix((t, str(t)) for t in c)) for c in chunks])
    src = PrometheusSource("http://prom:9090", session=session, max_points=10)
    s = src.query("up", T0, T0 + 24 * MIN, MIN)
    assert s.tolist() == stamps
    starts = [float(c["params"]["start"]) for c in session.calls]
    ends = [float(c["params"]["end"]) for c in session.calls]
    assert starts == [stamps[0], stamps[10], stamps[20]]
    assert ends == [stamps[9], stamps[19], stamps[24]]


def test_instant_reads_a_scalar_answer() -> None:
    body = {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "42"]}}
    assert source([answer(200, body)], []).instant("vector(42)", T0) == 42.0
