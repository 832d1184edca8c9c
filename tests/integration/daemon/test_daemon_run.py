"""``autoscaler run`` as a real subprocess: the embedded default end to end, and the
crash test (``kill -9`` in the middle of a scale action, then a restart)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, wait_until, with_world

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
# The daemon on the test's file-backed cloud (see fake_world.py), passed in as an object.
WITH_FILE_WORLD = with_world("fake_world:build")


def test_embedded_default_scales_serves_reloads_and_stops_cleanly(tmp_path: Path) -> None:
    cfg = tmp_path / "autoscaler.yaml"
    shutil.copy(REPO / "etc" / "autoscaler.yaml", cfg)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.1)
    received: list[str] = []
    done = threading.Event()

    def drain() -> None:  # keep reading, as systemd does: a full queue drops messages
        while not done.is_set():
            try:
                received.append(notify.recv(4096).decode())
            except TimeoutError:
                continue

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    d = DaemonProcess(
        [
            *("--config", str(cfg), "--state-dir", str(tmp_path / "state")),
            *("--speedup", "1800", "--port", "0", "--log-format", "json"),
        ],
        env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"},
    )
    try:
        wait_until(lambda: d.get("/readyz")[0] == 200, 20, "/readyz to answer 200")
        assert d.get("/healthz")[0] == 200

        def directions() -> set[str]:
            recs = d.json("/v1/groups/web/decisions?last=1000")["decisions"]
            return {r["action"]["direction"] for r in recs if r.get("action")}

        wait_until(lambda: {"up", "down"} <= directions(), 60, "a scale-out and a scale-in")
        code, metrics = d.get("/metrics")
        assert code == 200
        assert 'autoscaler_current_capacity{group="web"}' in metrics
        assert 'policy="combined"' in metrics and 'direction="down"' in metrics
        groups = d.json("/v1/groups")["groups"]
        assert groups[0]["name"] == "web" and groups[0]["current_size"] >= 2
        ticks = [json.loads(x) for x in d.lines if '"event":"tick"' in x]
        assert ticks and all(t["group"] == "web" for t in ticks)

        # A broken group on SIGHUP: the error is logged with file and line, the group
        # keeps its running configuration, and the daemon goes on.
        cfg.write_text(cfg.read_text().replace("max_size: 40", "max_size: forty"))
        before = len(d.json("/v1/groups/web/decisions?last=1000")["decisions"])
        d.signal(signal.SIGHUP)
        d.wait_for_line(lambda x: "group web: invalid in the new file; keeps its previous" in x, 10)
        assert any("max_size" in x and "autoscaler.yaml:" in x for x in d.lines)
        wait_until(
            lambda: len(d.json("/v1/groups/web/decisions?last=1000")["decisions"]) > before + 3,
            10,
            "ticks to continue after the rejected reload",
        )
        assert d.json("/v1/groups/web")["max_size"] == 40

        t0 = time.monotonic()
        assert d.stop(timeout=10) == 0
        assert time.monotonic() - t0 < 10
    finally:
        d.kill()
    assert json.loads(d.lines[-1])["message"] == "stopped"
    time.sleep(0.2)
    done.set()
    reader.join(5)
    notify.close()
    assert any(m.startswith("READY=1") for m in received)
    assert "WATCHDOG=1" in received and "RELOADING=1" in received and "STOPPING=1" in received


def test_kill_9_during_a_scale_action_neither_loses_nor_repeats_it(tmp_path: Path) -> None:
    cfg = tmp_path / "autoscaler.yaml"
    cfg.write_text(
        "daemon: {speedup: 600}\n"
        "groups:\n"
        "  - {name: web, min_size: 2, max_size: 6, capacity_per_instance: 100,\n"
        "     cooldown_up: 0s, cooldown_down: 0s, policies: [{kind: target, target: 0.5}]}\n"
    )
    cloud_dir = tmp_path / "cloud"
    cloud_dir.mkdir()
    (cloud_dir / "block").touch()
    env = {
        "FAKE_CLOUD_DIR": str(cloud_dir),
        "FAKE_LOAD": "450",
    }
    args = ["--config", str(cfg), "--state-dir", str(tmp_path / "state"), "--port", "0"]
    db = tmp_path / "state" / "state.db"

    first = DaemonProcess(args, env, WITH_FILE_WORLD)
    try:
        wait_until(lambda: (cloud_dir / "blocked").exists(), 20, "the daemon to be inside scale")
        action_id = (cloud_dir / "blocked").read_text()
        first.proc.kill()  # SIGKILL: no handler, no cleanup
        first.proc.wait(10)
    finally:
        first.kill()
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT action_id, outcome FROM actions").fetchall() == [
            (action_id, None)
        ], "the intent was journalled before the cloud was asked, the outcome never came"

    (cloud_dir / "block").unlink()
    second = DaemonProcess(args, env, WITH_FILE_WORLD)
    try:
        second.wait_for_line(lambda x: f"reconciled interrupted action {action_id}" in x, 10)
        wait_until(
            lambda: len(second.json("/v1/groups/web/decisions?last=100")["decisions"]) >= 5,
            20,
            "ticks after the restart",
        )
        assert second.stop() == 0
    finally:
        second.kill()

    cloud = json.loads((cloud_dir / "cloud.json").read_text())
    assert cloud["applied"] == [action_id], "exactly one action reached the cloud"
    assert cloud["groups"]["web"] == 6
    with sqlite3.connect(db) as c:
        audited = c.execute("SELECT action_id FROM audit WHERE action_id IS NOT NULL").fetchall()
        journal = c.execute("SELECT action_id, outcome FROM actions").fetchall()
        reconciled = json.loads(
            c.execute("SELECT record FROM audit WHERE action_id = ?", (action_id,)).fetchone()[0]
        )
    assert audited == [(action_id,)], "exactly one action in the audit log"
    assert journal == [(action_id, "done")]
    assert reconciled["reconciled"] == "already_applied"


def test_sigterm_mid_action_finishes_the_tick_persists_and_exits_0(tmp_path: Path) -> None:
    cfg = tmp_path / "autoscaler.yaml"
    cfg.write_text(
        "daemon: {speedup: 600}\n"
        "groups: [{name: web, min_size: 2, max_size: 6, policies: [{kind: target}]}]\n"
    )
    cloud_dir = tmp_path / "cloud"
    cloud_dir.mkdir()
    (cloud_dir / "slow").touch()
    env = {
        "FAKE_CLOUD_DIR": str(cloud_dir),
    }
    d = DaemonProcess(
        ["--config", str(cfg), "--state-dir", str(tmp_path / "state"), "--port", "0"],
        env,
        WITH_FILE_WORLD,
    )
    try:
        wait_until(lambda: (cloud_dir / "in_scale").exists(), 20, "the daemon to be inside scale")
        t0 = time.monotonic()
        assert d.stop(timeout=10) == 0
        assert 1.0 < time.monotonic() - t0 < 10, "it waited for the action, not longer"
    finally:
        d.kill()
    action_id = (cloud_dir / "in_scale").read_text()
    with sqlite3.connect(tmp_path / "state" / "state.db") as c:
        journal = c.execute("SELECT action_id, outcome FROM actions").fetchall()
        audited = c.execute("SELECT action_id FROM audit WHERE action_id IS NOT NULL").fetchall()
    assert journal == [(action_id, "done")] and audited == [(action_id,)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("groups: [", "invalid YAML"),
        (
            "cloud: {kind: heat, cloud: nope, clouds_file: CLOUDS}\n"
            "groups: [{name: web, metric: {source: prometheus, query: up,"
            " prometheus: {url: 'http://127.0.0.1:9'}}}]\n",
            "group web: clouds.yaml: cannot use cloud 'nope'",
        ),
        (
            "cloud: {kind: heat, cloud: test, clouds_file: CLOUDS}\ngroups: [{name: web}]\n",
            "group web: metric.source simulated needs cloud.kind simulated",
        ),
        (
            "cloud: {kind: heat, cloud: test, clouds_file: CLOUDS}\nhosts: [{count: 2}]\n"
            "groups: [{name: web, placement: pack}]\n",
            "c.yaml:3: groups[0].placement: placement pack needs cloud.kind simulated",
        ),
    ],
)
def test_bad_start_is_one_line_exit_2(tmp_path: Path, content: str, message: str) -> None:
    import subprocess

    from daemon_process import AUTOSCALER

    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds: {test: {auth: {auth_url: 'http://127.0.0.1:9/v3', username: u,"
        " password: p, project_name: p, user_domain_name: Default,"
        " project_domain_name: Default}}}\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(content.replace("CLOUDS", str(clouds)))
    r = subprocess.run(
        [AUTOSCALER, "run", "--config", str(cfg), "--state-dir", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.count("group web:") <= 1  # named once, not once per layer
