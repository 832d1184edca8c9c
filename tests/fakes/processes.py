"""Starting and stopping the servers the test fixtures start."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import requests


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)


def start_gunicorn(
    venv: Path, port: int, app: str, env: Mapping[str, str], log: IO[bytes], threads: int = 4
) -> subprocess.Popen:
    """``venv``'s gunicorn serving ``app`` (a module of tests/fakes) on 127.0.0.1:``port``."""
    return subprocess.Popen(
        [
            str(venv / "bin" / "gunicorn"),
            "--bind", f"127.0.0.1:{port}",
            "--workers", "1",
            "--threads", str(threads),
            "--chdir", str(Path(__file__).parent),
            app,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(env),
    )  # fmt: skip


def wait_ready(proc: subprocess.Popen, url: str, timeout: float, what: str) -> None:
    """Return once ``url`` answers 200; raise ``RuntimeError`` when ``proc`` exits or
    ``timeout`` seconds pass (the caller stops it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout}s")
