"""The HTTP API and the status/explain commands that read it, on a live local server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from click.testing import CliRunner
from daemon_fakes import FakeWorld, config, group

from autoscaler.cli import cli
from autoscaler.daemon.http_api import ApiServer


@pytest.fixture
def served(make_daemon):
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web", max_size=6)), world)  # one action, then hold
    for _ in range(2):
        world.clock.advance(timedelta(minutes=1))
        d.evaluate("web")
    api = ApiServer(d, d.metrics.registry, "127.0.0.1", 0)
    api.start()
    host, port = api.address
    yield d, world, f"http://{host}:{port}"
    api.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_endpoints(served) -> None:
    d, world, url = served
    code, body = get(url + "/metrics")
    assert code == 200, body
    assert 'autoscaler_current_capacity{group="web"} 6.0' in body
    assert 'autoscaler_decisions_total{direction="up",group="web",policy="combined"} 1.0' in body
    assert "autoscaler_tick_duration_seconds_count" in body
    assert "autoscaler_last_successful_tick_timestamp_seconds" in body
    assert get(url + "/healthz") == (200, json.dumps({"status": "alive"}))
    assert json.loads(get(url + "/readyz")[1]) == {"ready": True, "reasons": [], "notices": []}

    groups = json.loads(get(url + "/v1/groups")[1])["groups"]
    assert [g["name"] for g in groups] == ["web"]
    one = json.loads(get(url + "/v1/groups/web")[1])
    assert one["current_size"] == 6 and one["last_decision"]["outcome"] == "hold"
    assert one["cooldowns"]["up"]["active"] is False  # cooldown_up is 0s in this group
    dec = json.loads(get(url + "/v1/groups/web/decisions?last=1")[1])["decisions"]
    assert len(dec) == 1 and dec[0]["at"] == one["last_decision"]["at"]

    assert get(url + "/v1/groups/nope")[0] == 404
    assert get(url + "/v1/groups/web/decisions?last=zero")[0] == 400
    assert get(url + "/nothing")[0] == 404

    world.sources["web"].mode = "down"
    for _ in range(3):
        world.clock.advance(timedelta(minutes=1))
        d.evaluate("web")
    code, body = get(url + "/readyz")
    assert code == 503 and "metric source failed 3 times" in body


def test_status_and_explain_commands(served) -> None:
    _, _, url = served
    r = CliRunner().invoke(cli, ["status", "--url", url])
    assert r.exit_code == 0, r.output
    assert "ready" in r.output.splitlines()[0]
    assert any(line.startswith("web") and " 6 " in line for line in r.output.splitlines())

    r = CliRunner().invoke(cli, ["explain", "web", "--last", "2", "--url", url])
    assert r.exit_code == 0, r.output
    assert "vote target: 6" in r.output and "action web-" in r.output
    assert "cloud: 2 ready" in r.output and "load: last 400.0" in r.output

    r = CliRunner().invoke(cli, ["explain", "nope", "--url", url])
    assert r.exit_code == 2 and "no group named 'nope'" in r.output


def test_status_without_a_daemon_is_one_line_exit_2() -> None:
    r = CliRunner().invoke(cli, ["status", "--url", "http://127.0.0.1:9"])
    assert r.exit_code == 2
    assert r.output.startswith("error: cannot reach the daemon at http://127.0.0.1:9")
    assert "Traceback" not in r.output


def test_the_latest_rebalance_plan_is_served_and_explained(served) -> None:
    d, _, url = served
    assert json.loads(get(url + "/v1/groups/web/plan")[1]) == {"group": "web", "plan": {}}
    r = CliRunner().invoke(cli, ["explain", "web", "--url", url])
    assert r.exit_code == 0 and "rebalance plan" not in r.output
    move = {"vm": "s-1", "source": "cmp-3", "target": "cmp-1", "reason": "consolidate"}
    efficacy = {"hosts_released": 1, "contention_minutes_avoided": 0.0,
                "hot_hosts_before": 0, "hot_hosts_after": 0}  # fmt: skip
    for status, outcome in (("planned", "pending"), ("applied", "done")):
        d.store.record_plan("web", {"group": "web", "at": "2026-01-01T01:00:00+00:00",
                                    "mode": "apply", "status": status, "deferred": 0,
                                    "moves": [dict(move, outcome=outcome)],
                                    "released": ["cmp-3"], "efficacy": efficacy})  # fmt: skip
    plan = json.loads(get(url + "/v1/groups/web/plan")[1])["plan"]
    assert plan["status"] == "applied" and plan["moves"][0]["outcome"] == "done"
    assert get(url + "/v1/groups/nope/plan")[0] == 404
    r = CliRunner().invoke(cli, ["explain", "web", "--url", url])
    assert r.exit_code == 0, r.output
    assert "rebalance plan (apply): applied, 1 live migration(s), 0 deferred" in r.output
    assert "move s-1: cmp-3 -> cmp-1 (consolidate), done" in r.output
