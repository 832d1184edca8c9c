"""The GPU serving scenario: the request trace replayed through ``Engine.tick`` against
the serving cluster, one engine per group of replicas, for each policy in turn.

Idle groups (no replica, no request in the system and none in the lookback window) are
evaluated every ``serving.idle_tick`` rather than every interval, and at the first
interval after a request arrives; a reactive policy holds at zero in between, so this
changes nothing for it (a test checks it) and saves most of the ticks of a sparse trace.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from autoscaler.config import Config, GroupConfig, PolicyConfig, ServingConfig
from autoscaler.config.policy_checks import chosen_policy
from autoscaler.engine import Engine
from autoscaler.interfaces import ScalingPolicy
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import Decision, PolicyContext
from autoscaler.policies.oracle import OraclePolicy, oracle_plan, unrestrained
from autoscaler.registry import POLICY_DEFAULTS, build_binding, build_warm_set
from autoscaler.serving_wiring import serving_wiring
from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.host_cache import HostCache
from autoscaler.simulator.serving.oracle import busy_per_bin, launch_lead_bins
from autoscaler.simulator.serving.requests import RequestTrace

DEFAULT_SERVING_POLICIES = ("kpa", "target", "predictive_target", "qos", "oracle")
# a schedule has no meaning on a replayed request trace
_SERVING_DEFAULTS = {k: v for k, v in POLICY_DEFAULTS.items() if k != "schedule"}
DAY = 86400.0


class ServingScenarioError(ValueError):
    """The serving scenario cannot be simulated (bad layout, unknown policy or group)."""


@dataclass(frozen=True)
class ServingScenario:
    trace: RequestTrace  # already windowed and sped up
    latencies: np.ndarray
    group_names: tuple[str, ...]
    group_of_model: np.ndarray
    template: GroupConfig
    serving: ServingConfig
    seed: int
    config: Config | None = None  # the whole config (flavors, placement) for the bindings

    @property
    def bin_seconds(self) -> float:
        return self.template.interval.total_seconds()

    @property
    def horizon(self) -> float:
        last = float(self.trace.arrival[-1]) if len(self.trace) else 0.0
        return last + self.serving.drain.total_seconds()

    def new_cluster(self) -> ServingCluster:
        """A fresh cluster for one replay of the scenario (no replicas yet)."""
        hc = self.serving.host_cache
        return ServingCluster(
            self.trace,
            self.group_names,
            self.group_of_model,
            self.latencies,
            seed=self.seed,
            bin_seconds=self.bin_seconds,
            horizon=self.horizon,
            warm_set=build_warm_set(self.serving.warm_set),
            host_cache=HostCache(hc.models, hc.fast_below.total_seconds(), hc.affinity, hc.hosts),
            wait_for_warm=self.serving.wait_for_warm.total_seconds(),
        )

    @property
    def mean_exec(self) -> float:
        return float(np.mean(self.trace.exec_seconds)) if len(self.trace) else 1.0


def group_layout(
    trace: RequestTrace, prefix: str, layout: str, dedicated: int
) -> tuple[tuple[str, ...], np.ndarray]:
    """Group names and each model's group (models are indexed most requested first)."""
    n = len(trace.models)
    k = n if layout == "per_model" else (0 if layout == "pooled" else min(dedicated, n))
    names = [f"{prefix}-{trace.models[m]}" for m in range(k)]
    of_model = np.arange(n, dtype=np.int64)
    if k < n:
        # the one pool of the pooled layout is the template group itself (so the daemon,
        # which runs the config's groups, runs it too)
        names.append(prefix if k == 0 else f"{prefix}-pool")
        of_model[k:] = k
    return tuple(names), of_model


def build_serving_scenario(
    config: Config,
    trace: RequestTrace,
    latencies: np.ndarray,
    *,
    speedup: float | None = None,
    seed: int | None = None,
) -> ServingScenario:
    """The scenario of ``config.serving`` on ``trace``. Raises ``ServingScenarioError``."""
    sv = config.serving
    if sv is None:
        raise ServingScenarioError("the config has no serving: section")
    if sv.group is not None:
        try:
            template = config.group(sv.group)
        except KeyError:
            raise ServingScenarioError(f"serving.group: no group {sv.group!r}") from None
    elif config.groups:
        template = config.groups[0]
    else:
        raise ServingScenarioError("serving needs a groups: entry to use as its template")
    lo = sv.start_day * DAY
    hi = lo + sv.days * DAY if sv.days is not None else math.inf
    window = trace.window(lo, hi)
    if len(window) == 0:
        raise ServingScenarioError(f"serving: no requests in days {sv.start_day} onwards")
    if speedup is not None:
        if not 0 < speedup <= 1000:
            raise ServingScenarioError(f"arrival speedup must be in (0, 1000], not {speedup}")
        sv = sv.model_copy(update={"arrival_speedup": float(speedup)})
    window = window.sped_up(sv.arrival_speedup)
    names, of_model = group_layout(window, template.name, sv.layout, sv.dedicated)
    return ServingScenario(
        window,
        latencies,
        names,
        of_model,
        template,
        sv,
        config.simulation.seed if seed is None else seed,
        config,
    )


@dataclass(frozen=True)
class BacklogPolicy:
    """A replica for every request in the system (the last concurrency sample, rounded
    up): what keeps the oracle's open-loop plan from stranding requests when a cold start
    runs long or a pooled replica has to switch model."""

    name: str = "backlog"

    def decide(self, ctx: PolicyContext) -> Decision:
        last = ctx.load.last
        if not math.isfinite(last):
            return Decision(ctx.status.total, "no sample", self.name)
        want = math.ceil(last - 1e-9)
        return Decision(want, f"{last:.2f} requests in the system", self.name)


@dataclass(frozen=True)
class ServingRun:
    name: str
    cluster: ServingCluster
    latency: np.ndarray  # per request: start - arrival (censored at the end if unserved)
    wall_seconds: float
    ticks: int
    cpu_seconds: float = 0.0  # this process's CPU time for the replay (a loaded machine's
    # wall time is mostly waiting for the CPU)

    def summary(self, slo: float, oracle_gpu_hours: float | None) -> dict:
        c = self.cluster
        gpu_hours = c.gpu_seconds() / 3600.0
        lat = self.latency
        good = int(np.count_nonzero(c.trace.ok & (lat <= slo)))
        p50, p95, p99 = (float(np.percentile(lat, q)) if len(lat) else 0.0 for q in (50, 95, 99))
        d = {
            "gpu_hours": round(gpu_hours, 3),
            "slo_goodput_per_gpu_hour": round(good / gpu_hours, 3) if gpu_hours else 0.0,
            "latency_seconds": {"p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3)},
            "slo_attainment": round(float(np.mean(lat <= slo)), 5) if len(lat) else 1.0,
            # where the GPU-hours went: executing requests, loading models, idle
            "gpu_hours_split": {
                "executing": round(sum(g.exec_seconds for g in c.groups) / 3600.0, 3),
                "loading": round(sum(g.load_seconds for g in c.groups) / 3600.0, 3),
                "idle": round(
                    (c.gpu_seconds() - sum(g.exec_seconds + g.load_seconds for g in c.groups))
                    / 3600.0,
                    3,
                ),
            },
            "cold_starts": sum(g.cold_starts for g in c.groups),
            "model_switches": sum(g.switches for g in c.groups),
            "host_cache_loads": sum(g.cache_hits for g in c.groups),
            "requests_behind_cold_start": int(np.count_nonzero(c.behind_cold)),
            "scale_events": c.actions,
            "requests": len(lat),
            "unserved": int(np.count_nonzero(np.isnan(c.started))),
            "engine_ticks": self.ticks,
            "wall_seconds": round(self.wall_seconds, 3),
            "requests_per_wall_second": round(len(lat) / self.wall_seconds, 1)
            if self.wall_seconds
            else None,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "requests_per_cpu_second": round(len(lat) / self.cpu_seconds, 1)
            if self.cpu_seconds
            else None,
        }
        if oracle_gpu_hours:
            d["gpu_hours_vs_oracle"] = round(gpu_hours / oracle_gpu_hours, 4)
        return d


def _policy_config(scn: ServingScenario, name: str) -> PolicyConfig:
    """The template's own configuration of policy ``name``, else its defaults, checked
    against the template as ``simulate``'s scaling scenario checks them."""
    try:
        return chosen_policy(scn.template, name, _SERVING_DEFAULTS)
    except ValueError as exc:
        raise ServingScenarioError(str(exc)) from None


def run_serving_policy(scn: ServingScenario, name: str) -> ServingRun:
    """Replay the scenario through the engine with one policy (or ``oracle``)."""
    cluster = scn.new_cluster()
    interval = scn.bin_seconds
    n_bins = len(cluster.arrivals[0])
    kinds = name.split("+")
    store = MemoryStateStore()
    engines: list[Engine] = []
    wake: list[np.ndarray] = []  # per group: times it must be evaluated even when idle
    for gi, gname in enumerate(scn.group_names):
        wiring = serving_wiring(scn.template, scn.serving, gname, kinds, scn.mean_exec)
        spec = wiring.spec
        members = cluster.req_group == gi
        arrivals = scn.trace.arrival[members]
        times = (np.floor(arrivals / interval) + 1) * interval
        if name == "oracle":
            need = busy_per_bin(arrivals, scn.trace.exec_seconds[members], interval, n_bins)
            lead = launch_lead_bins(
                float(np.max(scn.latencies)), scn.serving.slo.total_seconds(), interval
            )
            plan = oracle_plan(np.minimum(need, spec.max_size), lead)
            ready_made: list[ScalingPolicy] | None = [
                OraclePolicy(plan, cluster.start, timedelta(seconds=interval)),
                BacklogPolicy(),
            ]
            changes = np.flatnonzero(np.diff(plan, prepend=0)) * interval
            times = np.union1d(times, changes)
            spec = unrestrained(spec)
            cfgs = []
        else:
            cfgs = [_policy_config(scn, part) for part in kinds]
            ready_made = None
        # the registry's one builder, as the daemon's serving world uses it
        binding = build_binding(
            scn.config or Config(),
            scn.template,
            source=wiring.source(cluster, gname),
            cloud=cluster,
            latency_source=wiring.latency_source(cluster, gname),
            policy_configs=cfgs,
            policies=ready_made,
            spec=spec,
        )
        engines.append(Engine([binding], store))
        wake.append(np.unique(times))
    t0, cpu0 = time.perf_counter(), time.process_time()
    ticks = _replay(scn, cluster, engines, wake)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    latency = np.where(
        np.isnan(cluster.started),
        scn.horizon - scn.trace.arrival,
        cluster.started - scn.trace.arrival,
    )
    return ServingRun(name, cluster, latency, wall, ticks, cpu)


def _replay(
    scn: ServingScenario, cluster: ServingCluster, engines: list[Engine], wake: list[np.ndarray]
) -> int:
    """Tick each group's engine at its interval while it is active, else at its wake
    times and every ``idle_tick``; returns the number of engine ticks."""
    interval = scn.bin_seconds
    every_idle = max(1, round(scn.serving.idle_tick.total_seconds() / interval))
    quiet = scn.template.metric.lookback.total_seconds() + interval
    last = int(scn.horizon // interval)
    wake_bins = [np.round(w / interval).astype(np.int64) for w in wake]
    heap = [(int(w[0]), gi) for gi, w in enumerate(wake_bins) if len(w)]
    heapq.heapify(heap)
    names = scn.group_names
    start = cluster.start
    ticks = 0
    while heap:
        k, gi = heapq.heappop(heap)
        if k > last:
            break
        t = k * interval
        cluster.advance(t)
        engines[gi].tick(start + timedelta(seconds=t))
        ticks += 1
        since = cluster.idle_since(names[gi])
        nxt = k + 1
        if since is not None and t - since > quiet:
            w = wake_bins[gi]
            j = int(np.searchsorted(w, k, side="right"))
            nxt = min(int(w[j]) if j < len(w) else last + 1, (k // every_idle + 1) * every_idle)
        heapq.heappush(heap, (nxt, gi))
    cluster.advance(scn.horizon)
    return ticks


@dataclass(frozen=True)
class ServingResult:
    scenario: ServingScenario
    runs: dict[str, ServingRun]

    def summary(self) -> dict:
        """The ``summary.json`` document (``policies.<name>`` as the scaling simulation)."""
        scn = self.scenario
        slo = scn.serving.slo.total_seconds()
        oracle = self.runs.get("oracle")
        oracle_hours = oracle.cluster.gpu_seconds() / 3600.0 if oracle is not None else None
        trace = scn.trace
        return {
            "trace": {
                "name": "alibaba-genai-v2026",
                "start": trace.start.isoformat(),
                "requests": len(trace),
                "failed_in_trace": int(np.count_nonzero(~trace.ok)),
                "models": len(trace.models),
                "arrival_speedup": scn.serving.arrival_speedup,
                "span_seconds": round(float(trace.arrival[-1]), 1),
                "mean_exec_seconds": round(scn.mean_exec, 3),
            },
            "serving": {
                "layout": scn.serving.layout,
                "groups": len(scn.group_names),
                "slo_p95_seconds": slo,
                "interval_seconds": scn.bin_seconds,
                "cold_start_seconds": {
                    "p50": round(float(np.median(scn.latencies)), 3),
                    "max": round(float(np.max(scn.latencies)), 3),
                },
                "seed": scn.seed,
            },
            "policies": {n: r.summary(slo, oracle_hours) for n, r in self.runs.items()},
        }


def simulate_serving(scn: ServingScenario, policies: Sequence[str]) -> ServingResult:
    """Run every named policy. Raises ``ServingScenarioError`` for an unknown one."""
    for name in policies:
        if name != "oracle":
            for part in name.split("+"):
                _policy_config(scn, part)
    return ServingResult(scn, {name: run_serving_policy(scn, name) for name in policies})
