"""Small daemon parts: redaction, the simulated clock, sd_notify, the reload plan."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from daemon_fakes import T0, config, group

from autoscaler.daemon.clock import SimulatedClock, real_seconds
from autoscaler.daemon.notify import SystemdNotifier
from autoscaler.daemon.redact import MASK, Redactor
from autoscaler.daemon.reload import plan_reload


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://admin:hunter2pass@keystone:5000/v3",
            f"GET https://admin:{MASK}@keystone:5000/v3",
        ),
        ("query?x=1&token=abcdef123&y=2", f"query?x=1&token={MASK}&y=2"),
        ("password: 'opensesame'", f"password: {MASK}"),
        ("X-Auth-Token: gAAAAABf00", f"X-Auth-Token: {MASK}"),
        ("Authorization: Bearer eyJhbGciOi.J9", f"Authorization: Bearer {MASK}"),
        ("application_credential_secret=zzzzzz", f"application_credential_secret={MASK}"),
        ("plain message about tokens", "plain message about tokens"),
        # Our own messages name fields this way: the words after them are not secrets.
        (
            "prometheus.auth.password: environment variable PROM_PW is not set or empty",
            "prometheus.auth.password: environment variable PROM_PW is not set or empty",
        ),
        ("password: hunter2 was rejected", f"password: {MASK} was rejected"),
        ("token: opensesame\nuser: admin", f"token: {MASK}\nuser: admin"),
        ("password: opensesame", f"password: {MASK}"),
    ],
)
def test_redactor_masks_credential_shapes(text: str, expected: str) -> None:
    assert Redactor(environ={}).text(text) == expected


def test_redactor_masks_env_secrets_anywhere_and_secret_keys_in_mappings() -> None:
    r = Redactor(["literal-from-config"], environ={"OS_PASSWORD": "pw-from-env", "HOME": "/root"})
    assert r.text("auth failed for pw-from-env and literal-from-config") == (
        f"auth failed for {MASK} and {MASK}"
    )
    assert r.text("/root") == "/root"  # not a credential variable
    assert r.value({"auth": {"password": "x1", "username": "u"}, "n": [1, "pw-from-env"]}) == {
        "auth": {"password": MASK, "username": "u"},
        "n": [1, MASK],
    }


def test_simulated_clock_runs_speedup_times_faster() -> None:
    t = [100.0]
    clock = SimulatedClock(T0, 60, monotonic=lambda: t[0])
    assert clock.now() == T0
    t[0] += 2.5
    assert clock.now() == T0 + timedelta(minutes=2.5)
    assert real_seconds(timedelta(minutes=1), 60) == 1.0
    with pytest.raises(ValueError):
        SimulatedClock(T0, 0)


def test_notifier_sends_datagrams_to_the_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        n = SystemdNotifier(
            {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
        )
        assert n.watchdog == timedelta(seconds=4)
        assert n.ready("2 groups") and n.ping() and n.stopping()
        got = [server.recv(4096).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=2 groups", "WATCHDOG=1", "STOPPING=1"]


def test_notifier_supports_abstract_sockets_and_is_silent_without_one() -> None:
    name = f"autoscaler-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ping()
        assert server.recv(64) == b"WATCHDOG=1"
    quiet = SystemdNotifier({})
    assert not quiet.enabled and not quiet.ready() and quiet.watchdog is None
    # The watchdog belongs to another process: do not claim it.
    assert SystemdNotifier({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog is None


def test_reload_plan_rejects_a_broken_top_level_section(tmp_path: Path) -> None:
    old = config(group("web"))
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"daemon": {"port": -1}, "groups": [group("web")]}))
    plan = plan_reload(p, old)
    assert plan.config is None
    assert any("daemon.port" in e and "c.yaml:" in e for e in plan.errors)


def test_reload_plan_leaves_out_a_new_broken_group(tmp_path: Path) -> None:
    old = config(group("web"))
    p = tmp_path / "c.yaml"
    bad = group("fresh", policies=[{"kind": "nope"}])
    p.write_text(yaml.safe_dump({"groups": [group("web", max_size=7), bad]}))
    plan = plan_reload(p, old)
    assert plan.config is not None
    assert [g.name for g in plan.config.groups] == ["web"]
    assert plan.config.groups[0].max_size == 7
    assert plan.broken == {"fresh": "invalid in the new file; not started"}
    assert plan.errors  # the validator's lines, with file and line, for the log


def test_simulated_world_replays_the_bundled_trace_on_a_fast_clock() -> None:
    from autoscaler.config import parse_config
    from autoscaler.daemon.world import MAX_REPLAY_SAMPLES, SimulatedWorld

    cfg = parse_config({"daemon": {"speedup": 60}, "groups": [group("web")]})
    world = SimulatedWorld(cfg)
    start = world.trace.series.index[0].to_pydatetime()
    # each group ticks on its own grid from the trace's start, as in the simulator
    assert [world.tick_time("web", timedelta(minutes=1)) for _ in range(3)] == [
        start + k * timedelta(minutes=1) for k in range(3)
    ]
    assert world.tick_time("api", timedelta(minutes=5)) == start
    src = world.source_for(cfg.groups[0])
    n = len(world.trace)
    assert len(src.values) % n == 0 and n < len(src.values) <= MAX_REPLAY_SAMPLES
    assert (src.values[:n] == src.values[n : 2 * n]).all()  # repeated, so a demo keeps going
    cloud = world.cloud_for(cfg.groups[0])
    spec = cfg.groups[0].spec()
    assert 1 <= cloud.status(spec).total <= 20


def test_state_dir_precedence_option_then_systemd_then_config() -> None:
    from autoscaler.daemon.main import RunOptions, state_dir_for

    cfg = config(group("web"), state_dir="/from/config")
    env = {"STATE_DIRECTORY": "/var/lib/autoscaler:/var/lib/other"}
    assert state_dir_for(RunOptions(Path("c"), "/opt/x"), cfg, env) == Path("/opt/x")
    assert state_dir_for(RunOptions(Path("c")), cfg, env) == Path("/var/lib/autoscaler")
    assert state_dir_for(RunOptions(Path("c")), cfg, {}) == Path("/from/config")


def test_no_environment_variable_loads_code_into_the_daemon(tmp_path: Path, monkeypatch) -> None:
    from autoscaler.config import parse_config
    from autoscaler.daemon.world import SimulatedWorld, load_world

    marker = tmp_path / "loaded"
    (tmp_path / "planted.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef build(config):\n    return None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AUTOSCALER_WORLD_FACTORY", "planted:build")
    world = load_world(parse_config({"groups": [group("web")]}))
    assert isinstance(world, SimulatedWorld) and not marker.exists()
