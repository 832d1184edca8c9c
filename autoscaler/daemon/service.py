"""The ``autoscaler run`` service: scheduler jobs, reconciliation, reload, readiness, stop.

Threads: apscheduler's pool runs one evaluation job per group (``max_instances=1``,
``coalesce``) and one retraining job per group; the HTTP server has its own; the main
thread only waits for signals, pings the systemd watchdog and carries out reloads and
the stop. Signal handlers set flags and nothing else.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoscaler.config import Config
from autoscaler.daemon.clock import real_seconds
from autoscaler.daemon.groups import ForecastFactory, GroupRuntime, build_group
from autoscaler.daemon.handoff import HandoffHolds
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.main_loop import MainLoop
from autoscaler.daemon.metrics import DaemonMetrics
from autoscaler.daemon.notify import SystemdNotifier
from autoscaler.daemon.pausing import GroupPausing
from autoscaler.daemon.readiness import DaemonViews
from autoscaler.daemon.records import iso, outcome_record
from autoscaler.daemon.reload import plan_reload, reload_notice
from autoscaler.daemon.settling import ActionSettling
from autoscaler.daemon.shared_state import FencedError, SharedStateStore
from autoscaler.daemon.state import SqliteStateStore, StateError
from autoscaler.daemon.views import group_mode
from autoscaler.daemon.world import WorldError
from autoscaler.interfaces import World
from autoscaler.model import Forecast, TickOutcome
from autoscaler.recent_loads import RecentLoads

if TYPE_CHECKING:
    from autoscaler.daemon.fleet import FleetMember


@dataclass(frozen=True)
class Settings:
    """What the daemon needs besides the config (from the command line)."""

    config_path: Path
    speedup: float
    not_ready_after: int
    source_timeout: timedelta | None


class Daemon(DaemonViews, GroupPausing, ActionSettling, MainLoop):
    def __init__(
        self,
        config: Config,
        settings: Settings,
        *,
        world: World,
        store: SqliteStateStore | SharedStateStore,
        metrics: DaemonMetrics,
        log: LogSink,
        notifier: SystemdNotifier,
        forecasts: ForecastFactory | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        fleet: FleetMember | None = None,
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
        # A taken-over group's interrupted action waits a membership timeout to be settled.
        self.handoffs = HandoffHolds(
            config.coordination.membership_timeout.total_seconds(), monotonic
        )
        # In a fleet: which groups are ours now (None: all of them, one daemon).
        self.fleet = fleet
        self.groups: dict[str, GroupRuntime] = {}
        # Every group's latest load, shared by all groups' engines: placement on shared
        # hosts predicts each host's load from all the groups on it.
        self.recent = RecentLoads()
        self.broken: dict[str, str] = {}
        self.started = False
        self._scheduler: Any = None
        self._stop = False
        self._reload = False
        # The last reload's rejection (None once one is applied): shown by /readyz.
        self.reload_notice: str | None = None
        # Evaluated at every scrape, so /metrics says what /readyz would answer now.
        metrics.ready.set_function(lambda: 1.0 if self.readiness()[0] else 0.0)

    # ---------------------------------------------------------------- setup

    def _build(
        self,
        cfg_group: Any,
        config: Config | None = None,
        known: tuple[dict[str, Any] | None, bool] | None = None,
    ) -> GroupRuntime:
        """``known``: the group's last decision and whether it is paused, when the
        caller read them for every group at once (a start-up with thousands of them)."""
        name = cfg_group.name
        rt = build_group(
            cfg_group,
            self.world,
            self.store,
            config=config or self.config,
            source_timeout=self.settings.source_timeout,
            forecasts=self.forecasts,
            recent=self.recent,
            on_source_call=lambda seconds: self.metrics.observe_source(name, seconds),
            on_cloud_call=lambda op, seconds: self.metrics.observe_cloud(name, op, seconds),
            record_plan=self.store.record_plan,
        )
        if known is None:
            previous = self.store.decisions(rt.name, 1)
            known = (previous[-1] if previous else None, name in self.store.paused())
        # After a restart, the API shows the last decision before it, not nothing.
        rt.last = known[0]
        rt.last_progress = self._monotonic()  # a group just built is not a stalled one
        self.metrics.register_group(
            name,
            min_size=cfg_group.min_size,
            max_size=cfg_group.max_size,
            mode=group_mode(cfg_group),
            policies=[p.name for p in rt.binding.policies],
            interval_seconds=real_seconds(cfg_group.interval, self.settings.speedup),
        )
        # a pause outlives restarts and reloads
        self.apply_pause(rt, known[1])
        return rt

    def build_all(self) -> None:
        """Wire every configured group. Raises ``WorldError``/``ValueError`` at start-up,
        where a broken group is a user error (there is no previous config to keep)."""
        latest = self.store.latest_decisions([g.name for g in self.config.groups])
        paused = self.store.paused()
        for g in self.config.groups:
            try:
                self.groups[g.name] = self._build(g, known=(latest.get(g.name), g.name in paused))
            except (WorldError, ValueError) as exc:
                raise WorldError(f"group {g.name}: {exc}") from None

    def evaluate_soon(self, names: list[str]) -> None:
        """Run the evaluation of ``names`` now instead of at their next interval (in a
        fleet: groups this member just took over from one that left or died)."""
        if self._scheduler is None:
            return  # not started yet: every group's first run is at the start
        now = datetime.now(UTC)
        for name in names:
            job = self._scheduler.get_job(f"evaluate:{name}")
            if job is not None:
                job.modify(next_run_time=now)

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
        if rt is None or (self.fleet is not None and not self.fleet.owns(name)):
            return
        with rt.lock:
            try:
                if self.fleet is not None:  # a pause may come through another member
                    self.follow_pause(rt, name in self.fleet.paused())
                    if self._held(name):
                        return
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
        except FencedError as exc:  # the group changed hands mid-tick: nothing was done
            self.log.event("warning", str(exc), group=name, stage="lease")
            return
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
        self.metrics.observe(
            outcome,
            time.perf_counter() - t0,
            rt.binding.spec.capacity_per_instance,  # what the policies plan with
            load=_newest_load(outcome),
        )
        self.metrics.set_model_age(name, rt.retrainer.model_age(now))
        if rt.publisher is not None and outcome.forecast is not None:
            self._publish(rt, outcome.forecast)
        rt.last = self.store.last_records.get(name) or self.store.redactor.value(
            outcome_record(outcome)
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
        if rt is None or (self.fleet is not None and not self.fleet.owns(name)):
            return
        now = self.clock.now()
        try:
            rt.retrainer.retrain(name, now)
        except Exception as exc:  # a failed refit keeps the previous model
            self.metrics.count_error(name, "retrain")
            self.log.event("warning", f"retraining failed: {type(exc).__name__}: {exc}", group=name)
        self.metrics.set_model_age(name, rt.retrainer.model_age(now))

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
            self.metrics.reloads.labels("rejected").inc()
            self.reload_notice = reload_notice("rejected", self.clock.now(), plan.errors)
            return
        new = plan.config
        # --speedup may have overridden the file's value; that is not a change.
        file_daemon = new.daemon.model_copy(update={"speedup": self.config.daemon.speedup})
        # The simulated cloud's hosts are built once, with the world.
        restart_only = ("cloud", "simulation", "hosts", "coordination")
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
                self.recent.forget(name)
                self.metrics.forget_group(name)
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
        outcome = "partial" if broken else "applied"
        self.metrics.reloads.labels(outcome).inc()
        why = plan.errors or tuple(f"group {n}: {w}" for n, w in broken.items())
        self.reload_notice = reload_notice(outcome, self.clock.now(), why) if broken else None
        self.notifier.ready(f"{len(self.groups)} group(s)")


def _newest_load(outcome: TickOutcome) -> float | None:
    """The newest finite sample the tick's policies saw, in requests/s (the engine has
    turned a utilisation metric into load); None without one."""
    seen = outcome.seen
    if seen is None or not seen.count or not math.isfinite(seen.last):
        return None
    return float(seen.last)
