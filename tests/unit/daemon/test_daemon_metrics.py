"""/metrics as Prometheus' conventions want it: zero-initialised counters, no _created,
real-clock timestamps, build info, modes, bounds, action outcomes, call latency, and
prometheus-client's own content negotiation and gzip."""

from __future__ import annotations

import gzip
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from daemon_fakes import FakeWorld, NullScheduler, config, group

from autoscaler.daemon.exposition import render_metrics
from autoscaler.daemon.http_api import ApiServer
from autoscaler.daemon.metrics import ERROR_STAGES


def value(d, name: str, **labels: str) -> float | None:
    return d.metrics.registry.get_sample_value(name, labels)


def text(d) -> str:
    return render_metrics(d.metrics.registry, "", "").body.decode()


def test_every_configured_group_has_its_series_before_the_first_tick(make_daemon) -> None:
    before = time.time()
    cfg = config(group("web", max_size=7), group("batch", min_size=2, mode="advisor"))
    d = make_daemon(cfg, FakeWorld({"web": 2, "batch": 2}, {"web": 100.0, "batch": 50.0}))
    for g in ("web", "batch"):
        for stage in ERROR_STAGES:
            assert value(d, "autoscaler_errors_total", group=g, stage=stage) == 0.0, (g, stage)
        for direction in ("up", "down", "hold"):
            assert (
                value(
                    d, "autoscaler_decisions_total", group=g, policy="combined", direction=direction
                )
                == 0
            )
            assert (
                value(
                    d, "autoscaler_decisions_total", group=g, policy="target", direction=direction
                )
                == 0
            )
        assert value(d, "autoscaler_actions_total", group=g, direction="up", outcome="failed") == 0
        assert value(d, "autoscaler_guard_hits_total", group=g, guard="cooldown_up") == 0
        assert value(d, "autoscaler_group_paused", group=g) == 0
        # the daemon's start (real clock) until a first successful tick
        assert (
            before
            <= value(d, "autoscaler_last_successful_tick_timestamp_seconds", group=g)
            <= time.time()
        )
    assert value(d, "autoscaler_max_size", group="web") == 7
    assert value(d, "autoscaler_min_size", group="batch") == 2
    assert value(d, "autoscaler_group_mode", group="web", mode="active") == 1
    assert value(d, "autoscaler_group_mode", group="web", mode="advisor") == 0
    assert value(d, "autoscaler_group_mode", group="batch", mode="advisor") == 1
    body = text(d)
    assert "_created" not in body
    assert 'quantile="mean"' not in body
    assert 'autoscaler_build_info{python="' in body
    assert "autoscaler_ready 1.0" in body


def test_a_tick_records_sizes_outcomes_latency_and_the_real_time(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    # the simulated clock says 2026-01-05; the timestamp is the real time, for time()
    assert (
        abs(
            value(d, "autoscaler_last_successful_tick_timestamp_seconds", group="web") - time.time()
        )
        < 60
    )
    assert value(d, "autoscaler_current_capacity", group="web") == 2
    assert value(d, "autoscaler_desired_capacity", group="web") == 6
    assert value(d, "autoscaler_observed_load", group="web") == 400.0
    assert value(d, "autoscaler_actions_total", group="web", direction="up", outcome="done") == 1
    assert value(d, "autoscaler_source_request_duration_seconds_count", group="web") == 1
    assert (
        value(d, "autoscaler_cloud_request_duration_seconds_count", group="web", operation="status")
        == 1
    )
    assert (
        value(d, "autoscaler_cloud_request_duration_seconds_count", group="web", operation="scale")
        == 1
    )

    world.cloud.failures = 1
    world.sources["web"].load = 800.0
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    assert value(d, "autoscaler_actions_total", group="web", direction="up", outcome="failed") == 1
    assert value(d, "autoscaler_errors_total", group="web", stage="act") == 1

    world.sources["web"].mode = "down"
    world.clock.advance(timedelta(minutes=10))
    d.evaluate("web")
    assert value(d, "autoscaler_errors_total", group="web", stage="source") == 1
    assert value(d, "autoscaler_guard_hits_total", group="web", guard="source_error") == 0, (
        "holding is not a guard hit"
    )


def test_a_dry_run_decision_is_counted_as_advised(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web", dry_run=True)), world)
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    assert value(d, "autoscaler_actions_total", group="web", direction="up", outcome="advised") == 1
    assert value(d, "autoscaler_guard_hits_total", group="web", guard="dry_run") == 1
    assert value(d, "autoscaler_group_mode", group="web", mode="dry_run") == 1


def test_an_advisor_group_exports_its_forecast_without_a_predictive_policy(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web", mode="advisor")), world)
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    assert value(d, "autoscaler_forecast_load_mean", group="web") == pytest.approx(400.0)
    # 400 req/s over 2 instances of 100: twice the capacity
    assert value(d, "autoscaler_forecast_utilization_mean", group="web") == pytest.approx(2.0)
    assert value(d, "autoscaler_forecast_utilization", group="web", quantile="0.9") >= 2.0
    assert d.groups["web"].last["outcome"] == "dry_run"


def test_a_group_removed_by_reload_leaves_no_series(make_daemon, tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    world = FakeWorld({"web": 2, "api": 2}, {"web": 100.0, "api": 100.0})
    d = make_daemon(config(group("web"), group("api")), world, config_path=path)
    d._scheduler = NullScheduler()
    path.write_text(yaml.safe_dump({"groups": [group("web")]}))
    d.reload()
    assert 'group="api"' not in text(d)
    assert value(d, "autoscaler_errors_total", group="web", stage="source") == 0


def test_negotiation_and_gzip_go_through_prometheus_client(make_daemon) -> None:
    d = make_daemon(config(group("web")), FakeWorld({"web": 2}, {"web": 100.0}))
    api = ApiServer(d, d.metrics.registry, "127.0.0.1", 0)
    api.start()
    host, port = api.address
    try:

        def scrape(accept: str, encoding: str) -> tuple[str, str | None, bytes]:
            req = urllib.request.Request(
                f"http://{host}:{port}/metrics",
                headers={"Accept": accept, "Accept-Encoding": encoding},
            )
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.headers["Content-Type"], r.headers.get("Content-Encoding"), r.read()

        ctype, enc, body = scrape("text/plain", "")
        assert ctype.startswith("text/plain; version=0.0.4") and enc is None
        assert b"autoscaler_errors_total" in body and b"_created" not in body
        ctype, enc, body = scrape(
            "application/openmetrics-text; version=1.0.0,text/plain;q=0.5", "gzip"
        )
        assert ctype.startswith("application/openmetrics-text") and enc == "gzip"
        om = gzip.decompress(body).decode()
        assert om.rstrip().endswith("# EOF") and "_created" not in om
        assert 'autoscaler_errors_total{group="web",stage="source"} 0.0' in om
    finally:
        api.stop()
