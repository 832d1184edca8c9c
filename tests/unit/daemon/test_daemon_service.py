"""The daemon's evaluation job on fakes: holds, error counts, readiness, backoff,
forecast fallback, reload of a broken group, redaction; driven by a manual clock."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import yaml
from daemon_fakes import FakeWorld, NullScheduler, config, group

from autoscaler.forecasting import RetrainingForecastProvider
from autoscaler.model import Forecast, ForecastError

MIN = timedelta(minutes=1)


def tick(d, name: str = "web") -> dict:
    d.world.clock.advance(MIN)
    d.evaluate(name)
    return d.groups[name].last


def test_scales_out_then_in_and_audits_each_decision(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    first = tick(d)
    assert (
        first["action"]["direction"] == "up" and first["desired"] == 6
    )  # 400/(100*0.5)=8, rate-limited
    world.sources["web"].load = 60.0
    tick(d)  # load dropped
    last = tick(d)
    assert last["status"]["ready"] + last["status"]["booting"] < 8 or last["action"]
    actions = [r["action"]["direction"] for r in d.store.audited_actions("web")]
    assert "up" in actions and "down" in actions
    assert len(d.store.decisions("web", 100)) == 3
    assert d.group_view("web")["cooldowns"].keys() == {"up", "down"}


def test_source_down_holds_counts_and_flips_readiness_then_recovers(make_daemon) -> None:
    world = FakeWorld({"web": 10}, {"web": 100.0})
    d = make_daemon(config(group("web")), world)
    src = world.sources["web"]
    src.mode = "down"
    for i in range(3):
        rec = tick(d)
        assert rec["desired"] == 10, "never scale in without data"
        assert rec["stage"] == "source" and "connection refused" in rec["error"]
        assert d.readiness()[0] is (i < 2)
    ok, reasons = d.readiness()
    assert not ok and "failed 3 times in a row" in reasons[0]
    assert world.cloud.scale_calls == []
    assert _metric(d, "autoscaler_errors_total", group="web", stage="source") == 3.0
    src.mode = "ok"
    tick(d)
    assert d.readiness() == (True, [])
    assert world.cloud.scale_calls, "with data back the group scales in (load needs 2)"


def test_slow_source_times_out_and_holds(make_daemon) -> None:
    world = FakeWorld({"web": 10}, {"web": 100.0})
    d = make_daemon(config(group("web")), world, source_timeout=timedelta(seconds=0.2))
    world.sources["web"].mode = "slow"
    rec = tick(d)
    assert rec["stage"] == "source" and "no answer within 0.2s" in rec["error"]
    assert rec["desired"] == 10 and world.cloud.scale_calls == []


def test_garbage_samples_never_scale_in(make_daemon) -> None:
    world = FakeWorld({"web": 10}, {"web": 100.0})
    d = make_daemon(config(group("web")), world)
    world.sources["web"].mode = "garbage"
    rec = tick(d)
    assert rec["desired"] == 10 and world.cloud.scale_calls == []
    assert rec["inputs"]["last"] is None  # -inf is recorded as "no value", not a number
    world.sources["web"].mode = "ok"
    assert tick(d)["action"]["direction"] == "down"  # the same load, now valid, does scale in


def test_cloud_errors_back_off_and_never_duplicate_an_action(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    world.cloud.failures = 3
    rec = tick(d)
    assert rec["outcome"] == "failed" and rec["stage"] == "act"
    assert len(world.cloud.scale_calls) == 1
    tick(d)  # after the first failure: retried at the next interval
    assert len(world.cloud.scale_calls) == 2
    tick(d)  # after the second: waits two intervals
    assert len(world.cloud.scale_calls) == 2
    tick(d)
    assert len(world.cloud.scale_calls) == 3
    for _ in range(3):  # after the third: four intervals
        tick(d)
    assert len(world.cloud.scale_calls) == 3
    tick(d)
    assert len(world.cloud.scale_calls) == 4
    calls = world.cloud.scale_calls
    assert len(calls) == len(set(calls)), "every attempt is a new decision with its own id"
    assert world.cloud.actions == 1, "the cloud applied exactly one action"
    journal = dict(d.store.journal())
    assert sum(o == "done" for o in journal.values()) == 1
    assert all(o is not None for o in journal.values())


def test_cloud_retry_after_is_honoured(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    world.cloud.failures, world.cloud.retry_after = 1, 600.0
    tick(d)
    for _ in range(9):
        tick(d)
    assert len(world.cloud.scale_calls) == 1
    tick(d)
    assert len(world.cloud.scale_calls) == 2 and world.cloud.actions == 1


class Exploding:
    """A forecaster that fits but cannot predict."""

    name = "exploding"
    min_history = 5

    def fit(self, y: pd.Series) -> Exploding:
        return self

    def update(self, y: pd.Series) -> Exploding:
        return self

    def predict(self, horizon: int, quantiles=()) -> Forecast:
        raise ForecastError("singular matrix")


def exploding_provider() -> RetrainingForecastProvider:
    return RetrainingForecastProvider(
        lambda step: Exploding(), horizon=MIN * 5, quantiles=(0.5, 0.9)
    )


def test_forecaster_that_raises_falls_back_and_records_why(make_daemon) -> None:
    world = FakeWorld({"web": 4}, {"web": 150.0})
    provider = exploding_provider()
    d = make_daemon(config(group("web")), world, forecasts=lambda g: provider)
    rec = tick(d)
    fc = rec["forecast"]
    assert fc["model"] == "naive" and fc["mean_next"] == 150.0
    assert fc["note"] == "fell back to naive because exploding failed to predict: singular matrix"
    assert d.store.decisions("web", 1)[0]["forecast"]["note"] == fc["note"]
    assert rec["error"] is None
    assert _metric(d, "autoscaler_forecast_load", group="web", quantile="0.9") == 150.0
    # 150 req/s over 4 ready instances of 100 each
    assert _metric(d, "autoscaler_forecast_utilization_mean", group="web") == 0.375


def test_reload_keeps_old_config_of_a_broken_group_and_applies_the_rest(
    make_daemon, tmp_path: Path
) -> None:
    path = tmp_path / "cfg.yaml"
    world = FakeWorld({"web": 3, "api": 3}, {"web": 100.0, "api": 100.0})
    cfg = config(group("web"), group("api"))
    d = make_daemon(cfg, world, config_path=path)
    d._scheduler = NullScheduler()
    doc = {
        "daemon": {"not_ready_after": 3},
        "groups": [group("web", max_size=50), group("api", min_size=9, max_size=2)],
    }
    path.write_text(yaml.safe_dump(doc))
    d.reload()
    assert d.groups["web"].config.max_size == 50
    assert d.groups["api"].config.max_size == 20, "broken group keeps its previous config"
    assert "previous configuration" in d.group_view("api")["config_error"]
    assert d.group_view("web")["config_error"] is None
    tick(d, "api")
    assert d.groups["api"].last["error"] is None
    logged = d.log.stream.getvalue()
    assert "min_size (9) exceeds max_size (2)" in logged


def test_reload_with_invalid_yaml_keeps_everything(make_daemon, tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    world = FakeWorld({"web": 3}, {"web": 100.0})
    d = make_daemon(config(group("web")), world, config_path=path)
    d._scheduler = NullScheduler()
    before = d.config
    path.write_text("groups: [\n")
    d.reload()
    assert d.config is before
    assert "reload rejected" in d.log.stream.getvalue()


def test_credentials_never_reach_logs_audit_or_api(make_daemon) -> None:
    token = "s3cr3t-keystone-token-77"
    world = FakeWorld({"web": 3}, {"web": 100.0})
    d = make_daemon(config(group("web")), world, environ={"OS_AUTH_TOKEN": token})
    world.sources["web"].mode = "down"
    world.sources["web"].secret_in_error = f"?token={token} (as admin:{token}@keystone)"
    for _ in range(3):
        tick(d)
    exposed = [
        d.log.stream.getvalue(),
        json.dumps(d.groups_view()),
        json.dumps(d.decisions("web", 10)),
        json.dumps(d.readiness()),
    ]
    for text in exposed:
        assert token not in text
    assert "***" in exposed[0] and "connection refused" in exposed[0]


def test_one_json_log_line_per_group_per_tick(make_daemon) -> None:
    world = FakeWorld({"web": 3, "api": 3}, {"web": 100.0, "api": 100.0})
    d = make_daemon(config(group("web"), group("api")), world)
    d.log.stream.truncate(0)
    d.log.stream.seek(0)
    world.clock.advance(MIN)
    d.evaluate("web")
    d.evaluate("api")
    lines = [json.loads(x) for x in d.log.stream.getvalue().splitlines()]
    assert [(x["event"], x["group"]) for x in lines] == [("tick", "web"), ("tick", "api")]
    assert set(lines[0]) >= {"ts", "level", "at", "current", "desired", "outcome", "votes"}


def _metric(d, name: str, **labels: str) -> float | None:
    return d.metrics.registry.get_sample_value(name, labels)


def test_locked_state_database_blocks_actions_and_is_reported(make_daemon, tmp_path) -> None:
    import sqlite3

    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(3):
            world.clock.advance(MIN)
            d.evaluate("web")
        assert world.cloud.scale_calls == [], "no action without its intent journalled first"
        assert _metric(d, "autoscaler_errors_total", group="web", stage="state") == 3.0
        ok, reasons = d.readiness()
        assert not ok and "state database failed 3 times" in reasons[0]
        assert "database is locked" in d.log.stream.getvalue()
    finally:
        other.execute("ROLLBACK")
        other.close()
    tick(d)
    assert world.cloud.scale_calls and d.readiness()[0]
    assert [o for _, o in d.store.journal()] == ["done"]


def test_scheduler_runs_each_group_job_with_the_required_options(make_daemon) -> None:
    import time

    world = FakeWorld({"web": 3, "api": 3}, {"web": 100.0, "api": 100.0})
    d = make_daemon(config(group("web", interval="1s"), group("api", interval="2s")), world)
    d.start()
    try:
        job = d._scheduler.get_job("evaluate:web")
        assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time >= 1
        assert job.trigger.interval.total_seconds() == 1.0
        assert d._scheduler.get_job("evaluate:api").trigger.interval.total_seconds() == 2.0
        assert d._scheduler.get_job("retrain:web") is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(rt.last for rt in d.groups.values()):
            time.sleep(0.05)
        assert all(rt.last for rt in d.groups.values()), "both groups were evaluated"
    finally:
        d.stop()
    assert not d.scheduler_alive()


def test_reload_that_cannot_build_a_group_keeps_its_running_version(
    make_daemon, tmp_path: Path
) -> None:
    path = tmp_path / "cfg.yaml"
    world = FakeWorld({"web": 3, "api": 3}, {"web": 100.0, "api": 100.0})
    d = make_daemon(config(group("web"), group("api")), world, config_path=path)
    d._scheduler = NullScheduler()
    running = d.groups["web"]
    # Valid YAML and schema, but the oracle policy cannot run outside the simulator.
    doc = {"groups": [group("web", policies=[{"kind": "oracle"}]), group("api", max_size=9)]}
    path.write_text(yaml.safe_dump(doc))
    d.reload()
    assert d.groups["web"] is running
    assert "cannot run outside the simulator" in d.group_view("web")["config_error"]
    assert d.groups["api"].config.max_size == 9 and d.group_view("api")["config_error"] is None


def test_text_log_format_is_one_readable_line_per_tick(make_daemon) -> None:
    import io

    from autoscaler.daemon.logs import LogSink
    from autoscaler.daemon.redact import Redactor

    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    d.log = LogSink(io.StringIO(), "text", Redactor(environ={}))
    tick(d)
    (line,) = d.log.stream.getvalue().splitlines()
    assert "INFO" in line and "web" in line and "2 -> 6" in line and "done" in line
    assert "(target: " in line and not line.lstrip().startswith("{")


def test_watchdog_progress_fails_when_a_group_stops_finishing_ticks(make_daemon) -> None:
    mono = [1000.0]
    world = FakeWorld({"web": 3, "api": 3}, {"web": 100.0, "api": 100.0})
    d = make_daemon(config(group("web"), group("api")), world, monotonic=lambda: mono[0])
    d._scheduler = NullScheduler()
    for rt in d.groups.values():
        d._schedule(rt)
    mono[0] += 50  # intervals are 60 s real at speedup 1: 5 intervals = 300 s of slack
    assert d.progressing()
    mono[0] += 300
    tick(d, "web")  # web finished a tick just now; api has not for 350 s
    assert not d.progressing()
    tick(d, "api")
    assert d.progressing()


def test_a_restarted_daemon_shows_the_last_decision_from_before(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    first = make_daemon(config(group("web")), world)
    last = tick(first)
    first.store.close()
    again = make_daemon(config(group("web")), world)  # same state directory
    assert again.group_view("web")["last_decision"] == last


class Publisher:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, dict]] = []
        self.fail = fail

    def publish(self, metric: str, forecast: Forecast, dimensions: dict) -> int:
        if self.fail:
            from autoscaler.model import CloudError

            raise CloudError("monasca: posting pred.x refused (HTTP 503)")
        self.sent.append((metric, forecast.model, dict(dimensions)))
        return len(forecast)


def test_forecasts_are_published_and_a_publishing_failure_only_counts(make_daemon) -> None:
    class PublishingWorld(FakeWorld):
        def publisher_for(self, group):
            return self.publishers[group.name]

    world = PublishingWorld({"web": 4, "api": 4}, {"web": 150.0, "api": 150.0})
    world.publishers = {"web": Publisher(), "api": Publisher(fail=True)}
    provider = {"web": exploding_provider(), "api": exploding_provider()}
    d = make_daemon(
        config(group("web", metric={"query": "http.requests"}), group("api")),
        world,
        forecasts=lambda g: provider[g.name],
    )
    tick(d, "web")
    assert world.publishers["web"].sent == [("http.requests", "naive", {"group": "web"})]
    rec = tick(d, "api")
    assert rec["error"] is None, "a publishing failure does not fail the decision"
    assert _metric(d, "autoscaler_errors_total", group="api", stage="publish") == 1.0


def test_reload_keeps_restart_only_sections_and_says_so(make_daemon, tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    world = FakeWorld({"web": 3}, {"web": 100.0})
    d = make_daemon(config(group("web")), world, config_path=path)
    d._scheduler = NullScheduler()
    doc = {"daemon": {"port": 1234, "not_ready_after": 3}, "groups": [group("web", max_size=9)]}
    path.write_text(yaml.safe_dump(doc))
    d.reload()
    assert d.config.daemon.port == 9723 and d.groups["web"].config.max_size == 9
    assert "daemon settings change only on restart" in d.log.stream.getvalue()


def test_predictive_group_gets_its_configured_forecaster_as_in_the_simulator(
    make_daemon,
) -> None:
    world = FakeWorld({"web": 4}, {"web": 150.0})
    g = group(
        "web",
        policies=[{"kind": "predictive_target", "quantile": 0.9}, {"kind": "target"}],
        forecaster={"model": "level", "quantiles": [0.5, 0.9]},
        victims="oldest",
    )
    d = make_daemon(config(g), world)
    rec = tick(d)
    assert rec["forecast"]["model"] in ("level", "naive")
    assert set(rec["forecast"]["quantiles"]) == {"0.5", "0.9"}
    assert [v["policy"] for v in rec["votes"]] == ["predictive_target", "target"]
    assert d.groups["web"].binding.victims.strategy == "oldest"
    provider = d.groups["web"].binding.forecaster
    deadline = time.monotonic() + 20  # the first fit runs on a worker thread, off the tick
    while provider.fits == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    d.retrain("web")
    assert _metric(d, "autoscaler_model_age_seconds", group="web") is not None
