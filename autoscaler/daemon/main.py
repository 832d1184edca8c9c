"""Assembling and running the daemon (what ``autoscaler run`` calls)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoscaler.config import Config, load_config

if TYPE_CHECKING:
    from autoscaler.daemon.api_security import ApiSecurity
    from autoscaler.daemon.dir_lock import StateDirLock
    from autoscaler.daemon.logs import LogSink
    from autoscaler.daemon.redact import Redactor
    from autoscaler.interfaces import World


class StartError(Exception):
    """The daemon cannot start; one line for the user."""


@dataclass(frozen=True)
class RunOptions:
    config_path: Path
    state_dir: str | None = None
    speedup: float | None = None
    bind: str | None = None
    port: int | None = None
    log_format: str | None = None


def state_dir_for(opts: RunOptions, config: Config, environ: Mapping[str, str]) -> Path:
    """--state-dir, else systemd's ``$STATE_DIRECTORY`` (first entry), else the config."""
    if opts.state_dir:
        return Path(opts.state_dir)
    env = environ.get("STATE_DIRECTORY", "")
    if env:
        return Path(env.split(":")[0])
    return Path(config.daemon.state_dir)


def run_daemon(
    opts: RunOptions,
    environ: Mapping[str, str] | None = None,
    *,
    make_world: Callable[[Config], Any] | None = None,
) -> int:
    """Start, serve until SIGTERM/SIGINT, stop cleanly; returns the exit code.

    ``make_world`` builds the world from the config instead of ``load_world`` (tests
    pass their own cloud in this way; nothing in the environment can). Raises
    ``ConfigError`` or ``StartError`` for problems found before serving.
    """
    from autoscaler.daemon.api_security import ApiSecurityError, bind_problem, load_security
    from autoscaler.daemon.logs import LogSink, route_library_logs
    from autoscaler.daemon.redact import Redactor
    from autoscaler.daemon.world import WorldError, load_world

    env = os.environ if environ is None else environ
    config = load_config(opts.config_path)
    dcfg = config.daemon
    redactor = Redactor(environ=env)
    log = LogSink.for_stdout(opts.log_format or dcfg.log_format, redactor, env)
    route_library_logs(log)
    # An unsafe bind or unreadable credentials stop us before anything is opened or written.
    bind, port = opts.bind or dcfg.bind, dcfg.port if opts.port is None else opts.port
    try:
        security = load_security(dcfg.api, Path(opts.config_path).resolve().parent)
    except ApiSecurityError as exc:
        raise StartError(str(exc)) from None
    problem = bind_problem(bind, security)
    if problem is not None:
        raise StartError(problem)
    speedup = opts.speedup or dcfg.speedup
    if speedup != dcfg.speedup:
        config = config.model_copy(update={"daemon": dcfg.model_copy(update={"speedup": speedup})})
    state_dir = state_dir_for(opts, config, env)
    # First, before the world is built: a second daemon is refused at once.
    dir_lock = _lock_state_dir(state_dir)
    try:
        try:
            world = make_world(config) if make_world is not None else load_world(config)
        except WorldError as exc:
            raise StartError(redactor.text(str(exc))) from None
        return _run_locked(
            opts, config, env, redactor, log, world, state_dir, (bind, port, security)
        )
    finally:
        dir_lock.release()


def _lock_state_dir(state_dir: Path) -> StateDirLock:
    from autoscaler.daemon.dir_lock import DirLockedError, StateDirLock

    try:
        return StateDirLock.acquire(state_dir)
    except DirLockedError as exc:
        raise StartError(str(exc)) from None
    except OSError as exc:
        raise StartError(f"state directory {state_dir}: {exc.strerror or exc}") from None


def _run_locked(
    opts: RunOptions,
    config: Config,
    env: Mapping[str, str],
    redactor: Redactor,
    log: LogSink,
    world: World,
    state_dir: Path,
    listen: tuple[str, int, ApiSecurity],
) -> int:
    from prometheus_client import CollectorRegistry

    from autoscaler.daemon.fleet_setup import join_fleet, open_store
    from autoscaler.daemon.http_api import ApiRefused, ApiServer
    from autoscaler.daemon.metrics import DaemonMetrics
    from autoscaler.daemon.notify import SystemdNotifier
    from autoscaler.daemon.service import Daemon, Settings
    from autoscaler.daemon.state import StateError
    from autoscaler.daemon.world import WorldError

    dcfg = config.daemon
    bind, port, security = listen
    try:
        store = open_store(config, state_dir, redactor)
    except StateError as exc:
        raise StartError(str(exc)) from None
    # Jobs run every interval of the world's clock: sped up only on a simulated clock.
    clock_speedup = float(getattr(world.clock, "speedup", 1.0))
    settings = Settings(
        Path(opts.config_path), clock_speedup, dcfg.not_ready_after, dcfg.source_timeout
    )
    registry = CollectorRegistry()
    notifier = SystemdNotifier(env)
    daemon = Daemon(
        config,
        settings,
        world=world,
        store=store,
        metrics=DaemonMetrics(registry),
        log=log,
        notifier=notifier,
    )
    try:
        daemon.build_all()
        daemon.reconcile()  # in a fleet: per group, as each is leased (join_fleet)
    except (WorldError, StateError) as exc:
        store.close()
        raise StartError(_at_option(opts.config_path, redactor.text(str(exc)))) from None
    try:
        api = ApiServer(daemon, registry, bind, port, security)
    except ApiRefused as exc:
        store.close()
        raise StartError(str(exc)) from None
    except OSError as exc:
        store.close()
        raise StartError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from None
    daemon.install_signal_handlers()
    api.start()
    join_fleet(daemon, store, registry)
    daemon.start()
    host, real_port = api.address
    log.event(
        "info",
        f"serving on {api.scheme}://{host}:{real_port}",
        groups=len(daemon.groups),
        state=getattr(store, "where", str(state_dir / "state.db")),
        clock=type(world.clock).__name__,
        speedup=clock_speedup,
        port=real_port,
    )
    notifier.ready(f"{len(daemon.groups)} group(s), {api.scheme}://{host}:{real_port}")
    try:
        daemon.wait(alive=lambda: daemon.scheduler_alive() and api.alive() and daemon.progressing())
    finally:
        api.stop()
        daemon.stop()
        from autoscaler.fit_pool import close_shared_pool

        close_shared_pool()  # the fit workers go with the daemon
        log.event("info", "stopped")
    return 0


def _at_option(path: Path | str, message: str) -> str:
    """``message`` prefixed with ``file:line`` of the first option it names that the
    config file sets (a start-up check that found an option unusable, e.g. for lack of a
    role); unchanged otherwise."""
    import re

    from autoscaler.config import option_line

    for dotted in re.findall(r"\b([a-z_]+(?:\.[a-z_]+)+): ", message):
        line = option_line(path, dotted)
        if line is not None:
            return f"{path}:{line}: {message}"
    return message
