"""One daemon per state directory: a second real ``autoscaler run`` on the same
directory is refused with exit code 2 and one line naming the holder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

from daemon_process import AUTOSCALER, DaemonProcess, with_world

HERE = Path(__file__).resolve().parent
WORLD = with_world("fake_world:build")


def test_a_second_daemon_on_the_same_state_dir_exits_2_naming_the_holder(tmp_path: Path) -> None:
    cfg = tmp_path / "autoscaler.yaml"
    cfg.write_text(
        "daemon: {speedup: 600}\n"
        "groups: [{name: web, min_size: 2, max_size: 6, policies: [{kind: target}]}]\n"
    )
    cloud_dir = tmp_path / "cloud"
    cloud_dir.mkdir()
    env = {
        "PYTHONPATH": str(HERE),
        "FAKE_CLOUD_DIR": str(cloud_dir),
    }
    state = tmp_path / "state"
    args = ["--config", str(cfg), "--state-dir", str(state), "--port", "0"]
    first = DaemonProcess(args, env, command=WORLD)
    try:
        # the real CLI: refused before any world is built
        second = subprocess.run(
            [AUTOSCALER, "run", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
        assert second.returncode == 2, second
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
        line = lines[0]
        assert f"PID {first.proc.pid} on {socket.gethostname()} since " in line, line
        assert str(state) in line
        holder = json.loads((state / "daemon.lock").read_text())
        assert holder["pid"] == first.proc.pid
        assert first.proc.poll() is None, "the holder keeps running"
        assert first.stop() == 0
    finally:
        first.kill()
    # The lock goes with its holder: a new daemon starts on the same directory.
    third = DaemonProcess(args, env, command=WORLD)
    try:
        assert json.loads((state / "daemon.lock").read_text())["pid"] == third.proc.pid
    finally:
        third.proc.kill()  # kill -9: the kernel drops the lock all the same
        third.proc.wait(10)
    fourth = DaemonProcess(args, env, command=WORLD)
    try:
        assert fourth.stop() == 0
    finally:
        fourth.kill()
