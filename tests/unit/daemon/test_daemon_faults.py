"""The daemon under faults, one test each: nothing lost, no action taken blind (never a
scale-in on bad data), no crash, and readiness says what is wrong."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_fakes import (
    FakeWorld,
    FullDiskModelStore,
    HangingCloud,
    StatusDownCloud,
    config,
    group,
)

MIN = timedelta(minutes=1)


def _tick(d, name: str = "web") -> dict:  # type: ignore[no-untyped-def]
    d.world.clock.advance(MIN)
    d.evaluate(name)
    return d.groups[name].last


def test_a_state_database_deleted_under_the_daemon_stops_every_action(
    make_daemon, tmp_path: Path
) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})  # wants to scale out
    d = make_daemon(config(group("web")), world)
    assert d.readiness() == (True, [])
    os.unlink(tmp_path / "state.db")
    ok, reasons = d.readiness()
    assert not ok and reasons == [
        f"state database {tmp_path / 'state.db'} was deleted while the daemon ran; "
        "not acting (restart the daemon to open it again)"
    ]
    for _ in range(3):
        _tick(d)
    assert world.cloud.scale_calls == [], "no action whose intent cannot be kept"
    g = world.cloud.groups["web"]
    assert len(g.ready) + len(g.booting) == 2
    assert "was deleted while the daemon ran" in d.log.stream.getvalue()
    assert not d.readiness()[0]


def test_a_state_database_replaced_under_the_daemon_stops_every_action(
    make_daemon, tmp_path: Path
) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, tmp_path / "state.db")
    _tick(d)
    assert world.cloud.scale_calls == []
    ok, reasons = d.readiness()
    assert not ok and "was replaced by another file while the daemon ran" in reasons[0]


def _no_scale_in(world, size: int) -> None:  # type: ignore[no-untyped-def]
    g = world.cloud.groups["web"]
    assert len(g.ready) + len(g.booting) >= size, "scaled in on bad data"


@pytest.mark.parametrize("mode", ["down", "garbage", "slow"])
def test_a_bad_metric_source_never_scales_in_and_is_reported(make_daemon, mode: str) -> None:
    world = FakeWorld({"web": 10}, {"web": 100.0})  # valid data would scale in to 2
    d = make_daemon(config(group("web")), world, source_timeout=timedelta(seconds=0.2))
    world.sources["web"].mode = mode
    for _ in range(3):
        rec = _tick(d)
        assert rec["desired"] == 10
    assert world.cloud.scale_calls == []
    _no_scale_in(world, 10)
    ok, reasons = d.readiness()
    if mode == "garbage":  # the source answers: the samples are refused, not the source
        assert rec["inputs"]["last"] is None
    else:
        assert not ok and "web: metric source failed 3 times in a row" in reasons[0]
        assert ("connection refused" if mode == "down" else "no answer within 0.2s") in reasons[0]


def test_a_cloud_whose_calls_fail_makes_the_daemon_not_ready(make_daemon) -> None:
    world = FakeWorld({"web": 10}, {"web": 100.0})
    world.cloud = StatusDownCloud()
    d = make_daemon(config(group("web")), world)
    for i in range(3):
        rec = _tick(d)
        assert rec["stage"] == "cloud" and rec["action"] is None
        d.groups["web"].backoff_until = None  # let each tick reach the cloud again
        assert d.readiness()[0] is (i < 2)
    assert d.readiness()[1] == [
        "web: cloud failed 3 times in a row: nova: 500 Internal Server Error"
    ]
    assert world.cloud.scale_calls == []
    world.cloud.down = False
    _tick(d)  # the cloud answers again: ready, and the group scales in on valid data
    assert d.readiness() == (True, []) and world.cloud.scale_calls


def test_a_failing_scale_call_makes_the_daemon_not_ready_until_one_succeeds(make_daemon) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    world.cloud.failures = 5
    for _ in range(3):
        _tick(d)
        d.groups["web"].backoff_until = None
    ok, reasons = d.readiness()
    assert not ok and reasons[0].startswith("web: cloud failed 3 times in a row: 503")
    assert [o for _, o in d.store.journal()] == ["failed: 503 Service Unavailable"] * 3


def test_a_hanging_cloud_holds_only_its_group_and_readiness_says_so(make_daemon) -> None:
    import threading

    now = [1000.0]
    world = FakeWorld({"web": 2, "api": 10}, {"web": 400.0, "api": 100.0})
    world.cloud = HangingCloud()
    d = make_daemon(config(group("web"), group("api")), world, monotonic=lambda: now[0])
    for rt in d.groups.values():
        rt.last_progress = now[0]
    job = threading.Thread(target=d.evaluate, args=("web",), daemon=True)
    world.clock.advance(MIN)
    job.start()
    assert world.cloud.entered.wait(5), "web's tick is inside the cloud call"
    world.cloud.hang = False  # other groups' calls answer
    d.evaluate("api")  # not blocked by web's wedged job
    assert d.groups["api"].last["action"]["direction"] == "down"
    d.groups["api"].last_progress = now[0] + 400
    now[0] += 400  # web's tick has hung for 400 s (interval 1m: stalled after 300 s)
    ok, reasons = d.readiness()
    assert not ok and reasons == ["web: no tick finished for 400s (a call may hang)"]
    assert not d.progressing()  # the watchdog stops: systemd restarts a wedged daemon
    world.cloud.release.set()
    job.join(5)
    assert not job.is_alive()
    d.groups["web"].last_progress = now[0]
    assert d.readiness() == (True, [])
    assert [o for _, o in d.store.journal()].count("done") == 2  # the intent was kept


def test_a_full_state_disk_stops_actions_and_is_reported(make_daemon, tmp_path: Path) -> None:
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("CREATE TABLE filler (x BLOB)")
    other.execute("INSERT INTO filler VALUES (zeroblob(1000000))")
    # the disk is full: the daemon's connection may not grow the file any more
    pages = d.store._db.execute("PRAGMA page_count").fetchone()[0]
    d.store._db.execute(f"PRAGMA max_page_count={pages}")
    for _ in range(200):  # the free space in its pages fills up within a few ticks
        _tick(d)
        if d.groups["web"].state_failures >= 3:
            break
    journal = dict(d.store.journal())
    assert set(world.cloud.scale_calls) <= set(journal), "an action without its intent kept"
    ok, reasons = d.readiness()
    assert not ok and reasons[0].startswith("web: state database failed")
    assert "disk full" in d.log.stream.getvalue()
    other.execute("DROP TABLE filler")  # space again: the daemon writes and is ready
    other.close()
    _tick(d)
    assert d.readiness() == (True, [])


def test_a_full_disk_under_the_model_store_does_not_stop_forecasting(make_daemon) -> None:
    from autoscaler.config import Config
    from autoscaler.registry import build_binding

    store = FullDiskModelStore()

    def forecasts(cfg):  # type: ignore[no-untyped-def]
        provider = build_binding(Config(), cfg, source=None, cloud=None).forecaster  # type: ignore[arg-type]
        provider.store = store
        return provider

    world = FakeWorld({"web": 4}, {"web": 200.0})
    spec = group("web", policies=[{"kind": "predictive_target"}], forecaster={"model": "naive"})
    d = make_daemon(config(spec), world, forecasts=forecasts)
    for _ in range(3):
        rec = _tick(d)
        assert rec["error"] is None and rec["forecast"] is not None
    provider = d.groups["web"].binding.forecaster
    assert store.saves >= 1 and provider.save_failures == store.saves
    assert "No space left on device" in provider.groups["web"].problem
    assert d.readiness() == (True, [])
