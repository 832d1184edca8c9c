"""systemd's notify protocol (``sd_notify``), spoken directly over the datagram socket.

No dependency: the protocol is one datagram of ``KEY=VALUE`` lines sent to the
``AF_UNIX`` socket named in ``$NOTIFY_SOCKET`` (a leading ``@`` means the abstract
namespace). Without that variable (not started by systemd) every call does nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import timedelta


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if path.startswith("@"):
            self.address = "\0" + path[1:]
        elif path.startswith("/"):
            self.address = path
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog: timedelta | None = (
            timedelta(microseconds=int(usec)) if usec.isdigit() and int(usec) > 0 and mine else None
        )

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """Send one notification; False when there is no socket or sending failed.

        Failures are swallowed: a missing supervisor must never stop the daemon.
        """
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                # Never block: a supervisor that stops reading must not freeze the daemon.
                s.setblocking(False)
                s.connect(self.address)
                s.sendall("\n".join(lines).encode())
        except OSError:
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        return self.send("RELOADING=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def ping(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")
