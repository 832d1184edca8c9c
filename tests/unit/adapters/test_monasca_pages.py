"""MonascaSource paging and answer checks, with a scripted keystoneauth-like adapter passed in
(the live behaviour is tested against real Keystone in tests/integration)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.monasca_source import MonascaQuery, MonascaSource
from autoscaler.model import SourceError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode()
    r.headers.update(headers or {})
    return r


class ScriptedApi:
    def __init__(self, script: list[requests.Response]) -> None:
        self.script = script
        self.calls: list[tuple[str, Any]] = []

    def get(self, url: str, params: Any = None, raise_exc: bool = True) -> requests.Response:
        self.calls.append((url, params))
        return self.script.pop(0)


def page(rows: list[list[Any]], next_href: str | None = None, stat: str = "avg") -> dict[str, Any]:
    links = [{"rel": "self", "href": "x"}]
    if next_href:
        links.append({"rel": "next", "href": next_href})
    el = {"id": "0", "name": "m", "dimensions": {}, "columns": ["timestamp", stat],
          "statistics": rows}  # fmt: skip
    return {"links": links, "elements": [el]}


def test_follows_next_links_and_merges_pages() -> None:
    api = ScriptedApi([
        answer(200, page([["2026-01-01T00:00:00Z", 1.0], ["2026-01-01T00:01:00Z", 2.0]],
                         "http://mon/v2.0/metrics/statistics?offset=2")),
        answer(200, page([["2026-01-01T00:02:00.000Z", 3.0]])),
    ])  # fmt: skip
    s = MonascaSource(api).query("m", T0, T0 + 2 * MIN, MIN)
    assert s.tolist() == [1.0, 2.0, 3.0]
    assert api.calls[1] == ("http://mon/v2.0/metrics/statistics?offset=2", None)
    first = api.calls[0][1]
    assert first["period"] == "60" and first["statistics"] == "avg"
    assert first["start_time"] == "2026-01-01T00:00:00Z"
    assert first["end_time"] == "2026-01-01T00:03:00Z"  # exclusive, one step past the end


def test_query_parameters_follow_the_config() -> None:
    api = ScriptedApi([answer(200, page([["2026-01-01T00:00:00Z", 5.0]], stat="max"))])
    q = MonascaQuery({"b": "2", "a": "1"}, "max", merge_metrics=True, group_by="hostname")
    MonascaSource(api, q).query("m", T0, T0, MIN)
    params = api.calls[0][1]
    assert params["dimensions"] == "a:1,b:2" and params["statistics"] == "max"
    assert params["merge_metrics"] == "true" and params["group_by"] == "hostname"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"links": []}, "no elements list"),
        (page([["2026-01-01T00:00:00Z"]]), "malformed row"),
        ({"elements": [{"columns": ["timestamp", "max"], "statistics": [["x", 1]]}]},
         "lacks the 'avg' column"),
    ],
)  # fmt: skip
def test_malformed_answers(body: dict[str, Any], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        MonascaSource(ScriptedApi([answer(200, body)])).query("m", T0, T0 + MIN, MIN)


def test_429_is_retried_after_retry_after() -> None:
    slept: list[float] = []
    api = ScriptedApi(
        [answer(429, {}, {"Retry-After": "4"}), answer(200, page([["2026-01-01T00:00:00Z", 1]]))]
    )
    src = MonascaSource(api, backoff=Backoff(sleep=slept.append, rng=random.Random(0)))
    assert src.query("m", T0, T0, MIN).tolist() == [1.0]
    assert slept == [4.0]
