"""One daemon per state directory: an exclusive ``fcntl`` lock on ``daemon.lock``.

The lock is taken before anything else in the directory is opened and held for the
life of the process; the kernel drops it when the process dies, however it dies, so a
``kill -9`` never leaves a stale lock. The file also says who holds it (PID, host, since
when) so that a second daemon can name the holder in its one-line refusal.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from autoscaler.private_files import open_private, private_dir

LOCK_NAME = "daemon.lock"


class DirLockedError(Exception):
    """Another process holds the state directory; one line naming it."""


class StateDirLock:
    """Holds the exclusive lock on ``state_dir/daemon.lock`` until ``release``."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        """Take the lock without waiting. Raises ``DirLockedError`` when another process
        holds it and ``OSError`` when the directory cannot be used."""
        private_dir(state_dir)
        path = state_dir / LOCK_NAME
        fd = open_private(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(fd)
            os.close(fd)
            raise DirLockedError(
                f"state directory {state_dir} is in use by another autoscaler ({holder}); "
                "run one daemon per state directory"
            ) from None
        except OSError:
            os.close(fd)
            raise
        # Written only once we hold the lock, so the holder's record is never torn.
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def _describe_holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"PID {int(data['pid'])} on {data['host']} since {data['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        # The holder has the lock but has not written its record yet.
        return "holder still starting"
