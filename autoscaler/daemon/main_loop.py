"""The daemon's main thread: signals, the wait loop with its watchdog pings, the stop.

A mixin of ``Daemon`` (``autoscaler.daemon.service``), kept apart so that the service
module holds the jobs and this one the process' life cycle.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from autoscaler.daemon.groups import GroupRuntime
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.notify import SystemdNotifier
from autoscaler.daemon.state import SqliteStateStore

STOP_BUDGET = timedelta(seconds=8)  # systemd and the issue allow 10 s for a clean stop


class MainLoop:
    """Signal flags, ``wait`` (reloads, watchdog) and ``stop``; see the module docstring."""

    groups: dict[str, GroupRuntime]
    notifier: SystemdNotifier
    log: LogSink
    store: SqliteStateStore
    settings: Any
    _scheduler: Any
    _stop: bool
    _reload: bool
    _monotonic: Callable[[], float]
    fleet: Any  # a FleetMember when coordinated, else None

    def reload(self) -> None:
        raise NotImplementedError

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    # Handlers only set flags: taking a lock (Event.set) inside a handler can deadlock
    # with the interrupted main thread; the main loop polls the flags instead.
    def _on_stop(self, signum: int, frame: object) -> None:
        self._stop = True

    def _on_reload(self, signum: int, frame: object) -> None:
        self._reload = True

    def request_stop(self) -> None:
        self._stop = True

    def request_reload(self) -> None:
        self._reload = True

    def wait(self, alive: Any = None, poll: float = 0.1) -> None:
        """Block until a stop is requested, doing reloads and watchdog pings meanwhile.

        ``alive`` (a callable) says whether the other threads are healthy; the watchdog
        is only fed while it returns true, so systemd restarts a wedged daemon.
        """
        wd = self.notifier.watchdog
        period = min(wd.total_seconds() / 2, 5.0) if wd is not None else 5.0
        next_ping = 0.0
        while not self._stop:
            if self._reload:
                self._reload = False
                self.reload()
            if time.monotonic() >= next_ping:
                if alive is None or alive():
                    self.notifier.ping()
                next_ping = time.monotonic() + period
            time.sleep(poll)

    def progressing(self) -> bool:
        """False when a group has finished no tick for far longer than its interval
        (a job wedged inside a call): the watchdog then stops, and systemd restarts us."""
        return not self.stalled_groups()

    def stalled_groups(self) -> list[tuple[str, float]]:
        raise NotImplementedError  # DaemonViews (autoscaler.daemon.readiness) has it

    def scheduler_alive(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def stop(self) -> None:
        """Finish the running ticks (bounded by ``STOP_BUDGET``), then close the store."""
        self.notifier.stopping()
        if self._scheduler is not None and self._scheduler.running:
            done = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True})
            done.start()
            done.join(STOP_BUDGET.total_seconds())
            if done.is_alive():
                self.log.event("warning", "a tick did not finish in time; stopping anyway")
        if self.fleet is not None:  # leave the coordination group: the others take our share
            self.fleet.stop()
        for rt in self.groups.values():
            # Wait for a tick that is still inside the engine (its lock) to persist.
            if rt.lock.acquire(timeout=0.5):
                rt.lock.release()
        self.store.close()
