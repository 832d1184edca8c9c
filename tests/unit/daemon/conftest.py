"""Fixtures for the daemon's unit tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_fakes import FakeWorld
from prometheus_client import CollectorRegistry

from autoscaler.config import Config
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.metrics import DaemonMetrics
from autoscaler.daemon.notify import SystemdNotifier
from autoscaler.daemon.redact import Redactor
from autoscaler.daemon.service import Daemon, Settings
from autoscaler.daemon.state import SqliteStateStore


@pytest.fixture
def make_daemon(tmp_path: Path) -> Callable[..., Daemon]:
    """Builds a Daemon on fakes; the scheduler is not started (tests call evaluate)."""

    def make(
        cfg: Config,
        world: FakeWorld,
        *,
        config_path: Path | None = None,
        forecasts: Callable | None = None,
        environ: dict[str, str] | None = None,
        source_timeout: timedelta | None = timedelta(seconds=0.5),
        monotonic: Callable[[], float] | None = None,
    ) -> Daemon:
        redactor = Redactor(environ=environ or {})
        store = SqliteStateStore(tmp_path / "state.db", redactor=redactor, busy_timeout=0.1)
        d = Daemon(
            cfg,
            Settings(config_path or tmp_path / "cfg.yaml", 1.0, 3, source_timeout),
            world=world,
            store=store,
            metrics=DaemonMetrics(CollectorRegistry()),
            log=LogSink(io.StringIO(), "json", redactor),
            notifier=SystemdNotifier({}),
            forecasts=forecasts,
            **({"monotonic": monotonic} if monotonic is not None else {}),
        )
        d.build_all()
        d.reconcile()
        d.started = True
        return d

    return make
