"""The one engine that makes every scaling decision, in the daemon and in the simulator.

``Engine.tick(now)`` evaluates every group once: read the cloud, read the metrics,
forecast, let each policy vote, combine (safest wins), apply the safety guards, act,
and record. It never reads the wall clock. A failure in one group is caught, counted
and recorded in that group's ``TickOutcome``; the other groups go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from autoscaler.guards import apply_guards, combine_votes
from autoscaler.interfaces import (
    CloudAdapter,
    ForecastProvider,
    HostInventory,
    MetricSource,
    PlacementPolicy,
    ScalingPolicy,
    StateStore,
    VictimChooser,
)
from autoscaler.model import (
    CloudError,
    Decision,
    Forecast,
    GroupSpec,
    MetricWindow,
    Placement,
    PolicyContext,
    ScaleAction,
    SourceError,
    TickOutcome,
    WindowSeen,
)
from autoscaler.placement.demand import instance_demand, with_predictions
from autoscaler.placement.hosts import Flavor
from autoscaler.placement.policies import Demand
from autoscaler.placement.scale_out import plan_scale_out
from autoscaler.rebalancing import RebalanceRound
from autoscaler.recent_loads import GroupLoad, RecentLoads

# A cloud with both can be asked where new instances go: it reports its hosts
# (``host_views()``) and honours ``ScaleAction.placements``.
PLACEMENT_CAPABILITIES = frozenset({"placement", "host_views"})


@dataclass
class GroupBinding:
    """A group wired to its metric source, policies and cloud."""

    spec: GroupSpec
    policies: Sequence[ScalingPolicy]
    source: MetricSource
    cloud: CloudAdapter
    query: str = ""
    lookback: timedelta = timedelta(hours=1)
    forecaster: ForecastProvider | None = None
    victims: VictimChooser | None = None
    # Multiply raw samples by this to get load; for utilisation metrics the engine
    # also multiplies by the ready capacity (see ``utilization_metric``).
    utilization_metric: bool = False
    # Where new instances go, when the cloud has ``PLACEMENT_CAPABILITIES``; None lets
    # the cloud decide. ``flavor`` sizes the requests (default: ``Flavor(spec.flavor)``).
    placement: PlacementPolicy | None = None
    flavor: Flavor | None = None
    # The group's measured p95 latency (seconds), read with ``latency_query`` over the
    # last ``latency_lookback``; None: the policies infer latency from load.
    latency_source: MetricSource | None = None
    latency_query: str = ""
    latency_lookback: timedelta = timedelta(minutes=15)
    # Live-migration rounds (interference_aware on a cloud that can live-migrate); run
    # in a tick that acted on nothing and had good data.
    rebalancer: RebalanceRound | None = None


def action_id(group: str, now: datetime, target: int) -> str:
    """Deterministic id: a replay of the same decision after a crash gets the same id."""
    if now.year < 1000:  # strftime's own padding there
        return f"{group}-{now.strftime('%Y%m%dT%H%M%SZ')}-{target}"
    n = now
    stamp = f"{n.year}{n.month:02}{n.day:02}T{n.hour:02}{n.minute:02}{n.second:02}Z"
    return f"{group}-{stamp}-{target}"


def _sanitize(window: MetricWindow) -> tuple[MetricWindow, bool, bool]:
    """Garbage (negative, infinite) samples become gaps; returns the window, whether any
    were found and whether every sample is finite (then the window has no gap: the
    caller need not look for one again)."""
    v = window.values
    # the ufuncs' reductions themselves: ndarray.max/min add a Python wrapper per call
    if len(v) and math.isfinite(np.maximum.reduce(v)) and np.minimum.reduce(v) >= 0:
        return window, False, True  # no NaN (max would be NaN), no infinity, none negative
    bad = ~np.isfinite(v) | (v < 0)
    if not bad.any() or np.isnan(v[bad]).all():
        return window, False, False
    clean = np.where(bad, np.nan, v)
    return MetricWindow(window.end, window.step, clean), True, False


@dataclass
class Engine:
    """Evaluates groups; see the module docstring for the pipeline."""

    groups: list[GroupBinding]
    state: StateStore
    on_outcome: Callable[[TickOutcome], None] | None = None
    errors: dict[str, int] = field(default_factory=dict)
    # Each group's latest load (groups on clouds that report hosts): placement predicts
    # every host's load from all the groups on it. Engines of groups on the same hosts
    # share one (the daemon runs one engine per group); it has its own lock.
    recent: RecentLoads = field(default_factory=RecentLoads)
    # When a stored cooldown lies ahead of the clock (a simulated clock that restarted, a
    # wall clock stepped back), the time this engine first saw it: the cooldown then runs
    # from there, so it never holds a group longer than the cooldown itself.
    clock_behind: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def _cooldown_start(self, name: str, direction: str, now: datetime) -> datetime | None:
        """When ``direction``'s cooldown began for the guards: the last such action, or,
        when that lies ahead of ``now``, the moment the engine first saw it there."""
        last = self.state.last_action(name, direction)
        if last is None or last <= now:
            self.clock_behind.pop((name, direction), None)
            return last
        return self.clock_behind.setdefault((name, direction), now)

    def tick(self, now: datetime) -> list[TickOutcome]:
        """Evaluate every group at ``now`` (UTC). Never raises for a group's failure."""
        outcomes = []
        for binding in self.groups:
            try:
                outcome = self.evaluate(binding, now)
            except Exception as exc:  # one bad group never stops the others
                outcome = TickOutcome(
                    binding.spec.name,
                    now,
                    None,
                    (),
                    None,
                    None,
                    None,
                    None,
                    error=f"{type(exc).__name__}: {exc}",
                    stage="engine",
                )
            if outcome.error is not None:
                key = outcome.stage or "engine"
                self.errors[key] = self.errors.get(key, 0) + 1
            self.state.record(outcome)
            if self.on_outcome is not None:
                self.on_outcome(outcome)
            outcomes.append(outcome)
        return outcomes

    def evaluate(self, b: GroupBinding, now: datetime) -> TickOutcome:
        spec = b.spec
        name = spec.name
        try:
            status = b.cloud.status(spec)
        except CloudError as exc:
            return TickOutcome(name, now, None, (), None, None, None, None, str(exc), "cloud")

        data_problem: str | None = None
        source_error: str | None = None
        finite = False  # every sample of the window is finite (known without looking again)
        try:
            window = b.source.window(b.query, now, b.lookback, spec.interval)
        except SourceError as exc:
            window = MetricWindow(now, spec.interval, np.empty(0))
            data_problem, source_error = "source_error", str(exc)
        else:
            window, garbage, finite = _sanitize(window)
            if b.utilization_metric:
                window = MetricWindow(
                    window.end,
                    window.step,
                    window.values * (status.ready * spec.capacity_per_instance),
                )
                finite = False  # a product may overflow: look again
            age = timedelta(0) if finite else window.last_valid_age()
            if age is None:
                data_problem = "missing_data"
            elif now - (window.end - age) > spec.stale_after:
                data_problem = "stale_data"
            elif garbage and not np.isfinite(window.last):
                data_problem = "garbage_data"

        forecast: Forecast | None = None
        forecast_error: str | None = None
        if b.forecaster is not None and data_problem is None:
            try:
                forecast = b.forecaster.forecast(spec, window, now)
            except Exception as exc:  # a forecaster failure degrades to reactive, never stops
                forecast_error = f"forecast: {type(exc).__name__}: {exc}"

        latency = _latency_window(b, now) if data_problem is None else None

        if "host_views" in b.cloud.capabilities and len(window):
            load = GroupLoad(
                window.values, status.ready, spec.capacity_per_instance, _flavor(b).vcpus
            )
            self.recent.put(name, load)

        votes: list[Decision] = []
        current = status.total
        for policy in b.policies:
            memory = self.state.policy_memory(name, policy.name)
            ctx = PolicyContext(now, spec, status, window, forecast, memory, latency)
            try:
                d = policy.decide(ctx)
            except Exception as exc:  # a broken policy votes to hold
                d = Decision(current, f"error: {type(exc).__name__}: {exc}", policy.name)
            if d.memory is not None:
                self.state.set_policy_memory(name, policy.name, d.memory)
            votes.append(d)

        combined = combine_votes([v.desired for v in votes], current)
        last_up = self._cooldown_start(name, "up", now)  # read once (a database read in the daemon)
        guarded = apply_guards(
            now=now,
            spec=spec,
            status=status,
            proposed=combined,
            data_problem=data_problem,
            last_up=last_up,
            last_any=_latest(last_up, self._cooldown_start(name, "down", now)),
        )
        desired = guarded.desired
        guard = guarded.guard
        action: ScaleAction | None = None
        error = source_error or forecast_error
        stage = "source" if source_error else ("forecast" if forecast_error else None)
        if desired != current:
            if spec.dry_run or spec.paused:
                why = "paused" if spec.paused else "dry_run"
                guard = f"{guard},{why}" if guard else why
            else:
                reason = "; ".join(
                    f"{v.policy}: {v.reason}" for v in votes if v.desired == combined
                )
                victims: tuple[str, ...] = ()
                if (
                    desired < current
                    and b.victims is not None
                    and "victims" in b.cloud.capabilities
                ):
                    fleet = b.cloud.fleet(spec)
                    victims = tuple(b.victims.choose_victims(current - desired, fleet, now))
                placements: tuple[Placement, ...] = ()
                if (
                    desired > current
                    and b.placement is not None
                    and b.cloud.capabilities >= PLACEMENT_CAPABILITIES
                ):
                    placements = self._place(b, desired - current)
                action = ScaleAction(
                    name,
                    action_id(name, now, desired),
                    now,
                    current,
                    desired,
                    reason,
                    victims,
                    placements,
                )
                self.state.begin_action(action)
                try:
                    b.cloud.scale(action)
                except CloudError as exc:
                    self.state.finish_action(action, f"failed: {exc}")
                    error, stage = f"scale: {exc}", "act"
                else:
                    self.state.finish_action(action, "done")
        r = b.rebalancer
        if (
            r is not None
            and action is None
            and data_problem is None
            and "live_migration" in b.cloud.capabilities
            and r.due(now)
        ):
            try:
                r.run(now, name, _flavor(b), b.cloud, self.demands())  # type: ignore[arg-type]
            except CloudError as exc:
                error, stage = error or f"rebalance: {exc}", stage or "rebalance"
        return TickOutcome(
            name,
            now,
            status,
            tuple(votes),
            combined,
            desired,
            guard,
            action,
            error,
            stage,
            forecast,
            WindowSeen.of(window, forecast, finite=finite),
        )

    def _place(self, b: GroupBinding, n: int) -> tuple[Placement, ...]:
        """Where each of ``n`` new instances goes, as ``b.placement`` chooses on the
        cloud's hosts, each host's load predicted from all the groups on it."""
        assert b.placement is not None
        cloud: HostInventory = b.cloud  # type: ignore[assignment]  # has "host_views"
        demands = self.demands()
        hosts = with_predictions(cloud.host_views(), demands)
        name = b.spec.name
        return plan_scale_out(b.placement, name, _flavor(b), n, hosts, demands.get(name))

    def demands(self) -> dict[str, Demand]:
        """Each group's per-instance CPU demand (vCPUs) from its latest window; groups
        whose window has no finite sample are left out."""
        out = {}
        for group, g in self.recent.snapshot().items():
            d = instance_demand(g.load, g.ready, g.capacity, g.vcpus)
            if d is not None:
                out[group] = d
        return out


def _latency_window(b: GroupBinding, now: datetime) -> MetricWindow | None:
    """The measured latency, garbage samples as gaps; None without a latency source or
    when it fails (a latency reading only steers feedback, so it never fails the tick)."""
    if b.latency_source is None:
        return None
    try:
        window = b.latency_source.window(b.latency_query, now, b.latency_lookback, b.spec.interval)
    except SourceError:
        return None
    return _sanitize(window)[0]


def _flavor(b: GroupBinding) -> Flavor:
    return b.flavor if b.flavor is not None else Flavor(b.spec.flavor)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
