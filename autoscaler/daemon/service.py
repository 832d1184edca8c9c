"""The ``autoscaler run`` service: scheduler jobs, reconciliation, reload, readiness, stop.

Threads: apscheduler's pool runs one evaluation job per group (``max_instances=1``,
``coalesce``) and one retraining job per group; the HTTP server has its own; the main
thread only waits for signals, pings the systemd watchdog and carries out reloads and
the stop. Signal handlers set flags and nothing else.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from autoscaler.config import Config
from autoscaler.daemon.clock import real_seconds
from autoscaler.daemon.groups import ForecastFactory, GroupRuntime, build_group
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.metrics import DaemonMetrics
from autoscaler.daemon.notify import SystemdNotifier
from autoscaler.daemon.reconcile import reconcile
from autoscaler.daemon.records import iso, outcome_record
from autoscaler.daemon.reload import plan_reload
from autoscaler.daemon.state import SqliteStateStore, StateError
from autoscaler.daemon.world import World, WorldError
from autoscaler.engine import RecentLoads
from autoscaler.model import Forecast

STOP_BUDGET = timedelta(seconds=8)  # systemd and the issue allow 10 s for a clean stop


@dataclass(frozen=True)
class Settings:
    """What the daemon needs besides the config (from the command line)."""

    config_path: Path
    speedup: float
    not_ready_after: int
    source_timeout: timedelta | None


class Daemon:
    def __init__(
        self,
        config: Config,
        settings: Settings,
        *,
        world: World,
        store: SqliteStateStore,
        metrics: DaemonMetrics,
        log: LogSink,
        notifier: SystemdNotifier,
        forecasts: ForecastFactory | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = settings
        self.world = world
        self.clock = world.clock
        self.store = store
        self.metrics = metrics
        self.log = log
        self.notifier = notifier
        self.forecasts = forecasts
        self._monotonic = monotonic
        self.groups: dict[str, GroupRuntime] = {}
        # Every group's latest load, shared by all groups' engines: placement on shared
        # hosts predicts each host's load from all the groups on it.
        self.recent: RecentLoads = {}
        self.broken: dict[str, str] = {}
        self.started = False
        self._scheduler: Any = None
        self._stop = False
        self._reload = False
        store.inputs = self._inputs_of

    # ---------------------------------------------------------------- setup

    def _build(self, cfg_group: Any, config: Config | None = None) -> GroupRuntime:
        rt = build_group(
            cfg_group,
            self.world,
            self.store,
            config=config or self.config,
            source_timeout=self.settings.source_timeout,
            forecasts=self.forecasts,
            recent=self.recent,
        )
        # After a restart, the API shows the last decision before it, not nothing.
        previous = self.store.decisions(rt.name, 1)
        rt.last = previous[-1] if previous else None
        return rt

    def build_all(self) -> None:
        """Wire every configured group. Raises ``WorldError``/``ValueError`` at start-up,
        where a broken group is a user error (there is no previous config to keep)."""
        for g in self.config.groups:
            try:
                self.groups[g.name] = self._build(g)
            except (WorldError, ValueError) as exc:
                raise WorldError(f"group {g.name}: {exc}") from None

    def reconcile(self) -> None:
        """Settle interrupted actions against the cloud before any new decision."""
        now = self.clock.now()
        self.world.advance(now)
        targets = {n: (rt.binding.spec, rt.cloud.cloud) for n, rt in self.groups.items()}
        for s in reconcile(self.store, targets, now):
            self.log.event(
                "warning" if s.how in ("failed", "superseded", "abandoned") else "info",
                f"reconciled interrupted action {s.action.action_id}: {s.how}",
                group=s.action.group,
                detail=s.detail,
            )

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        workers = max(2, min(8, 2 * len(self.groups)))
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        for rt in self.groups.values():
            self._schedule(rt)
        self._scheduler.start()
        self.started = True

    def _schedule(self, rt: GroupRuntime) -> None:
        interval = max(real_seconds(rt.config.interval, self.settings.speedup), 0.01)
        retrain = max(real_seconds(rt.config.forecaster.retrain, self.settings.speedup), 0.5)
        # A run later than one interval is useless: the next one will look at fresher data.
        grace = max(1, int(min(interval, self.config.daemon.misfire_grace.total_seconds())))
        name = rt.name
        rt.last_progress = self._monotonic()
        self._scheduler.add_job(
            self.evaluate,
            "interval",
            seconds=interval,
            args=[name],
            id=f"evaluate:{name}",
            replace_existing=True,
            misfire_grace_time=grace,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.add_job(
            self.retrain,
            "interval",
            seconds=retrain,
            args=[name],
            id=f"retrain:{name}",
            replace_existing=True,
            misfire_grace_time=max(1, int(retrain)),
        )

    def _unschedule(self, name: str) -> None:
        for job in (f"evaluate:{name}", f"retrain:{name}"):
            if self._scheduler.get_job(job) is not None:
                self._scheduler.remove_job(job)

    # ---------------------------------------------------------------- jobs

    def evaluate(self, name: str) -> None:
        """One group's tick: advance the world, run the engine, record, log, measure."""
        rt = self.groups.get(name)
        if rt is None:
            return
        with rt.lock:
            try:
                self._evaluate_locked(rt)
            finally:
                rt.last_progress = self._monotonic()

    def _evaluate_locked(self, rt: GroupRuntime) -> None:
        name = rt.name
        now = self.world.tick_time(name, rt.config.interval)
        if rt.backoff_until is not None and now < rt.backoff_until:
            self.log.event(
                "info",
                "cloud backoff: skipping this tick",
                group=name,
                until=iso(rt.backoff_until),
            )
            return
        t0 = time.perf_counter()
        try:
            self.world.advance(now, name)
            outcome = rt.engine.tick(now)[0]
        except StateError as exc:
            rt.state_failures += 1
            self.metrics.count_error(name, "state")
            self.log.event("error", str(exc), group=name, stage="state")
            return
        except Exception as exc:  # never let a bug kill the job silently
            self.metrics.count_error(name, "engine")
            self.log.event("error", f"{type(exc).__name__}: {exc}", group=name)
            return
        rt.state_failures = 0
        if outcome.stage in ("cloud", "act"):
            rt.backoff_until = now + rt.cloud.backoff(rt.config.interval)
        else:
            rt.cloud.succeeded()
            rt.backoff_until = None
        self.metrics.observe(outcome, time.perf_counter() - t0, rt.config.capacity_per_instance)
        self.metrics.set_model_age(name, rt.retrainer.model_age(now))
        if rt.publisher is not None and outcome.forecast is not None:
            self._publish(rt, outcome.forecast)
        rt.last = self.store.last_records.get(name) or self.store.redactor.value(
            outcome_record(outcome, rt.source.last_window)
        )
        self.log.tick(rt.last)

    def _publish(self, rt: GroupRuntime, forecast: Forecast) -> None:
        """Send the forecast to the monitoring system; a failure is counted, never fatal."""
        assert rt.publisher is not None
        try:
            rt.publisher.publish(rt.config.metric.query, forecast, {"group": rt.name})
        except Exception as exc:  # publishing is a side channel: scaling goes on regardless
            self.metrics.count_error(rt.name, "publish")
            self.log.event("warning", f"forecast not published: {exc}", group=rt.name)

    def retrain(self, name: str) -> None:
        rt = self.groups.get(name)
        if rt is None:
            return
        now = self.clock.now()
        try:
            rt.retrainer.retrain(name, now)
        except Exception as exc:  # a failed refit keeps the previous model
            self.metrics.count_error(name, "retrain")
            self.log.event("warning", f"retraining failed: {type(exc).__name__}: {exc}", group=name)
        self.metrics.set_model_age(name, rt.retrainer.model_age(now))

    def _inputs_of(self, group: str) -> Any:
        rt = self.groups.get(group)
        return rt.source.last_window if rt is not None else None

    # ---------------------------------------------------------------- reload

    def reload(self) -> None:
        """Apply the config file again; on any error keep what runs (and say so)."""
        self.notifier.reloading()
        plan = plan_reload(self.settings.config_path, self.config)
        for line in plan.errors:
            self.log.event("error", f"reload: {line}")
        if plan.config is None:
            self.log.event("error", "reload rejected; keeping the previous configuration")
            self.notifier.ready("reload rejected; running the previous configuration")
            return
        new = plan.config
        # --speedup may have overridden the file's value; that is not a change.
        file_daemon = new.daemon.model_copy(update={"speedup": self.config.daemon.speedup})
        # The simulated cloud's hosts are built once, with the world.
        restart_only = ("cloud", "simulation", "hosts")
        changed = [k for k in restart_only if getattr(new, k) != getattr(self.config, k)]
        if file_daemon != self.config.daemon:
            changed.append("daemon")
        if changed:
            self.log.event(
                "warning", f"{', '.join(changed)} settings change only on restart; kept as running"
            )
        new = new.model_copy(update={k: getattr(self.config, k) for k in (*restart_only, "daemon")})
        broken = dict(plan.broken)
        wanted = {g.name: g for g in new.groups}
        for name in list(self.groups):
            if name not in wanted:
                self._unschedule(name)
                del self.groups[name]
                self.recent.pop(name, None)
                self.log.event("info", "group removed by reload", group=name)
        for name, g in wanted.items():
            rt = self.groups.get(name)
            if rt is not None and rt.config == g:
                continue
            try:
                fresh = self._build(g, new)
            except (WorldError, ValueError) as exc:
                broken[name] = f"cannot start with the new settings ({exc}); " + (
                    "keeps its previous configuration" if rt is not None else "not started"
                )
                continue
            self.groups[name] = fresh
            self._schedule(fresh)
            self.log.event("info", "group (re)configured by reload", group=name)
        kept = [self.groups[g.name].config for g in new.groups if g.name in self.groups]
        self.config = new.model_copy(update={"groups": kept})
        self.broken = broken
        for name, why in broken.items():
            if name in self.groups:
                self.groups[name].config_error = why
            self.log.event("error", f"reload: group {name}: {why}", group=name)
        for name, rt in self.groups.items():
            if name not in broken:
                rt.config_error = None
        self.log.event("info", f"reloaded: {len(self.groups)} group(s), {len(broken)} broken")
        self.notifier.ready(f"{len(self.groups)} group(s)")

    # ---------------------------------------------------------------- readiness, views

    def readiness(self) -> tuple[bool, list[str]]:
        reasons = []
        if not self.started:
            reasons.append("starting")
        n = self.settings.not_ready_after
        for name, rt in self.groups.items():
            if rt.source.consecutive_failures >= n:
                reasons.append(
                    f"{name}: metric source failed {rt.source.consecutive_failures} times "
                    f"in a row: {rt.source.last_error}"
                )
            if rt.state_failures >= n:
                reasons.append(f"{name}: state database failed {rt.state_failures} times in a row")
        ok = not reasons
        self.metrics.ready.set(1 if ok else 0)
        return ok, [self.store.redactor.text(r) for r in reasons]

    def groups_view(self) -> list[dict[str, Any]]:
        return [self._view(rt) for rt in list(self.groups.values())]

    def group_view(self, name: str) -> dict[str, Any] | None:
        rt = self.groups.get(name)
        return self._view(rt) if rt is not None else None

    def decisions(self, name: str, last: int) -> list[dict[str, Any]] | None:
        if name not in self.groups:
            return None
        return self.store.decisions(name, last)

    def _view(self, rt: GroupRuntime) -> dict[str, Any]:
        last = rt.last or {}
        status = last.get("status") or {}
        spec = rt.binding.spec
        cooldowns = {}
        for direction, at in self.store.cooldowns(rt.name).items():
            until = datetime.fromisoformat(at) + (
                spec.cooldown_up if direction == "up" else spec.cooldown_down
            )
            cooldowns[direction] = {
                "last_action": at,
                "until": iso(until),
                "active": until > self.clock.now(),
            }
        return {
            "name": rt.name,
            "current_size": (status.get("ready", 0) + status.get("booting", 0)) if status else None,
            "ready": status.get("ready"),
            "booting": status.get("booting"),
            "min_size": spec.min_size,
            "max_size": spec.max_size,
            "interval": rt.config.interval.total_seconds(),
            "last_decision": last or None,
            "forecast": last.get("forecast"),
            "cooldowns": cooldowns,
            "source_failures": rt.source.consecutive_failures,
            "config_error": rt.config_error,
        }

    # ---------------------------------------------------------------- main loop, signals

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
        now = self._monotonic()
        slack = self.settings.source_timeout.total_seconds() if self.settings.source_timeout else 0
        for rt in list(self.groups.values()):
            interval = real_seconds(rt.config.interval, self.settings.speedup)
            if now - rt.last_progress > max(5 * interval, 60.0) + slack:
                return False
        return True

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
        for rt in self.groups.values():
            # Wait for a tick that is still inside the engine (its lock) to persist.
            if rt.lock.acquire(timeout=0.5):
                rt.lock.release()
        self.store.close()
