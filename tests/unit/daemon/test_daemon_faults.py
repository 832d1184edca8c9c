"""The daemon under faults, one test each: nothing lost, no action taken blind (never a
scale-in on bad data), no crash, and readiness says what is wrong."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

from daemon_fakes import FakeWorld, config, group

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
