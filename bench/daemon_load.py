"""Load of the daemon: one full evaluation round of N groups with ARIMA forecasts.

Each group is a real ``GroupRuntime`` built from config as ``autoscaler run`` builds it
(a ``predictive_target`` and a ``target`` policy; ``forecaster: {model: arima}``, so the
engine's ``RetrainingForecastProvider`` with issue 3's ARIMA) and evaluated through
``Daemon.evaluate`` exactly as the scheduler does it (cloud status, metric window,
forecaster update + predict, the policies, guards, the SQLite audit record, metrics,
one log line), against the simulated cloud and the bundled NASA trace (each group
shifted and scaled differently). Prints the time of one round, sequential and on the scheduler's
thread pool, the same round without forecasts (the baseline, measured in this run),
and the process RSS.

Fitting 1,000 ARIMA models takes many minutes and is not part of a round (a group
refits once per ``forecaster.retrain``, an hour by default); by default
``--distinct-fits`` groups are fitted on their own data and their fitted state is
copied to the others, which then update it with their own data every round.
``--distinct-fits 0`` fits every group.

    .venv/bin/python bench/daemon_load.py [--groups 1000] [--rounds 3]

Goal (issue 6), 2 cores: a round of 1,000 groups in <= 6 s; RSS <= 500 MB without torch.
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from autoscaler.config import Config, GroupConfig, parse_config
from autoscaler.daemon.clock import SimulatedClock
from autoscaler.daemon.logs import LogSink
from autoscaler.daemon.metrics import DaemonMetrics
from autoscaler.daemon.notify import SystemdNotifier
from autoscaler.daemon.redact import Redactor
from autoscaler.daemon.service import Daemon, Settings
from autoscaler.daemon.state import SqliteStateStore
from autoscaler.daemon.world import LockedCloud
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud
from autoscaler.simulator.source import TraceSource
from autoscaler.traces import load_trace

STEP = timedelta(minutes=1)
HORIZON = 5
QUANTILES = (0.5, 0.9)


def check_forecaster(kind: str) -> None:
    """Fail early when issue 3's forecasters are missing (the provider would fall back)."""
    from autoscaler.forecasters.registry import forecaster_class

    forecaster_class(kind)


class BenchWorld:
    """N groups on one simulated cloud; group i replays the trace shifted by i*37 min."""

    def __init__(self, n: int, history: int) -> None:
        trace = load_trace(None)
        raw = trace.values
        self.start = trace.series.index[0].to_pydatetime()
        self.history = history
        self.clock = SimulatedClock(self.start + history * STEP, 1.0, monotonic=lambda: 0.0)
        self.sim = SimCloud(BootDelay("fixed", timedelta(minutes=2)))
        self.cloud = LockedCloud(self.sim, threading.Lock())
        rng = np.random.default_rng(0)
        self.loads: dict[str, np.ndarray] = {}
        for i in range(n):
            shifted = np.roll(raw, -37 * i)
            peak_instances = int(rng.integers(5, 40))
            self.loads[f"g{i:04d}"] = shifted * (peak_instances * 100.0 / raw.max())

    def source_for(self, group: GroupConfig) -> TraceSource:
        return TraceSource(self.loads[group.name], self.start, STEP)

    def cloud_for(self, group: GroupConfig) -> LockedCloud:
        if group.name not in self.sim.groups:
            first = self.loads[group.name][self.history]
            self.sim.create_group(group.name, max(1, int(first / 70)), self.clock.now())
        return self.cloud

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now, group: str | None = None) -> None:
        self.sim.advance(now)

    def tick_to(self, minutes: int) -> None:
        self.clock.start = self.start + (self.history + minutes) * STEP


def config(n: int, lookback: timedelta, kind: str | None) -> Config:
    group: dict = {
        "max_size": 60,
        "capacity_per_instance": 100,
        "metric": {"lookback": f"{int(lookback.total_seconds())}s"},
        "policies": [{"kind": "target"}, {"kind": "threshold"}],
    }
    if kind is not None:
        group["policies"] = [{"kind": "predictive_target"}, {"kind": "target"}]
        group["forecaster"] = {
            "model": kind,
            "train_window": f"{int(lookback.total_seconds())}s",
            "horizon": f"{HORIZON}m",
            "quantiles": list(QUANTILES),
        }
    return parse_config({"groups": [{"name": f"g{i:04d}", **group} for i in range(n)]})


def build(n: int, history: int, state_dir: Path, kind: str | None) -> tuple[Daemon, BenchWorld]:
    """N groups as ``autoscaler run`` builds them; ``kind`` None: reactive only."""
    world = BenchWorld(n, history)
    cfg = config(n, history * STEP, kind)
    redactor = Redactor()
    daemon = Daemon(
        cfg,
        Settings(state_dir / "cfg.yaml", 1.0, 3, None),
        world=world,
        store=SqliteStateStore.in_dir(state_dir, redactor=redactor),
        metrics=DaemonMetrics(CollectorRegistry()),
        log=LogSink(io.StringIO(), "json", redactor),
        notifier=SystemdNotifier({}),
    )
    daemon.build_all()
    return daemon, world


def fit_models(daemon: Daemon, world: BenchWorld, distinct: int) -> tuple[float, int]:
    """Fit the groups' models before the measured rounds; returns (seconds, fitted).

    The first ``distinct`` groups are evaluated once (their provider fits on their own
    history); every other group starts from a copy of one of those fitted states.
    """
    t0 = time.perf_counter()
    names = list(daemon.groups)
    k = len(names) if distinct <= 0 else min(distinct, len(names))
    for name in names[:k]:
        daemon.evaluate(name)
    donors = [daemon.groups[name].binding.forecaster.groups[name] for name in names[:k]]
    for i, name in enumerate(names[k:]):
        daemon.groups[name].binding.forecaster.groups[name] = copy.deepcopy(donors[i % k])
    return time.perf_counter() - t0, k


def one_round(daemon: Daemon, pool: ThreadPoolExecutor | None) -> float:
    names = list(daemon.groups)
    t0 = time.perf_counter()
    if pool is None:
        for name in names:
            daemon.evaluate(name)
    else:
        list(pool.map(daemon.evaluate, names))
    return time.perf_counter() - t0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(daemon: Daemon, world: BenchWorld, rounds: int, label: str) -> dict[str, float]:
    out = {}
    with ThreadPoolExecutor(8) as pool:
        for mode, p in (("sequential", None), ("8 threads", pool)):
            times = []
            for _ in range(rounds):
                world.tick_to(world_minute(world) + 1)
                times.append(one_round(daemon, p))
            out[mode] = min(times)
            print(
                f"  {label:<22} {mode:<11} round: best {min(times):7.3f} s, "
                f"median {sorted(times)[len(times) // 2]:7.3f} s over {rounds}"
            )
    errors = sum(1 for rt in daemon.groups.values() if (rt.last or {}).get("error"))
    print(f"  {label:<22} groups with an error in the last round: {errors}")
    return out


def world_minute(world: BenchWorld) -> int:
    return int((world.clock.start - world.start) / STEP) - world.history


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--history", type=int, default=600, help="steps of 1 min fitted on")
    ap.add_argument("--distinct-fits", type=int, default=40)
    ap.add_argument("--kind", default="arima")
    args = ap.parse_args()
    try:
        check_forecaster(args.kind)
    except Exception as exc:
        print(f"error: the forecasters (issue 3) are not available: {exc}", file=sys.stderr)
        return 2
    print(
        f"daemon load: {args.groups} groups, 1-min steps, {args.history} steps of history, "
        f"forecast horizon >= {HORIZON} steps, quantiles {QUANTILES}; cpus: {os.cpu_count()}"
    )
    print(f"RSS at start: {rss_mb():.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        base, bworld = build(args.groups, args.history, Path(tmp) / "base", None)
        print(f"RSS after building {args.groups} reactive groups: {rss_mb():.0f} MB")
        baseline = measure(base, bworld, args.rounds, "baseline (no forecast)")
        base.store.close()
        del base, bworld

    with tempfile.TemporaryDirectory() as tmp:
        daemon, world = build(args.groups, args.history, Path(tmp), args.kind)
        secs, k = fit_models(daemon, world, args.distinct_fits)
        print(
            f"fitted {k} distinct {args.kind} models in {secs:.1f} s "
            f"({secs / k * 1000:.0f} ms each); copied to the other {args.groups - k}"
        )
        result = measure(daemon, world, args.rounds, f"{args.kind} forecasts")
        models = {}
        for rt in daemon.groups.values():
            fc = (rt.last or {}).get("forecast") or {}
            label = fc.get("model", "none") + (" (fallback)" if fc.get("note") else "")
            models[label] = models.get(label, 0) + 1
        print(f"  forecasts in the last round by model: {models}")
        rss = rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        daemon.store.close()

    best = min(result.values())
    base_best = min(baseline.values())
    per_1000 = best / args.groups * 1000
    print()
    print(
        f"round with {args.kind}: {best:.3f} s for {args.groups} groups = {per_1000:.2f} s per "
        f"1,000 groups (goal <= 6 s: {'met' if per_1000 <= 6 else 'NOT met'}); "
        f"{best / base_best:.1f}x the reactive baseline ({base_best:.3f} s)"
    )
    print(
        f"per group: {best / args.groups * 1000:.2f} ms with forecasts, "
        f"{base_best / args.groups * 1000:.2f} ms without"
    )
    print(
        f"RSS now {rss:.0f} MB, peak {peak:.0f} MB (goal <= 500 MB: "
        f"{'met' if peak <= 500 else 'NOT met'}); torch imported: {'torch' in sys.modules}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
