"""Starting ``autoscaler run`` as a subprocess and talking to it, for the integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

AUTOSCALER = str(Path(sys.executable).parent / "autoscaler")


def with_world(world: str) -> list[str]:
    """The command that runs ``autoscaler run`` on the test world ``MODULE:FUNCTION``
    of this folder (the daemon takes no code from its environment)."""
    launcher = Path(__file__).resolve().parent / "run_with_world.py"
    return [sys.executable, str(launcher), "--world", world]


class DaemonProcess:
    def __init__(
        self,
        args: list[str],
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        """``autoscaler run ARGS``, or ``command ARGS`` (a launcher passing in a world);
        waits up to ``start_timeout`` seconds for it to serve."""
        self.proc = subprocess.Popen(
            [*(command or [AUTOSCALER, "run"]), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        serving = self.wait_for_line(lambda x: '"serving on' in x, timeout=start_timeout)
        self.url = f"http://127.0.0.1:{json.loads(serving)['port']}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pred: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if pred(line):
                    return line
            seen = len(self.lines)
            if self.proc.poll() is not None and seen == len(self.lines):
                break
            time.sleep(0.05)
        raise AssertionError("expected log line not seen; output:\n" + "\n".join(self.lines[-30:]))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def json(self, path: str) -> Any:
        code, body = self.get(path)
        assert code == 200, (code, body)
        return json.loads(body)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
