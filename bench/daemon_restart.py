"""Daemon start and restart with forecasts trained on real history from a real Prometheus.

N groups (default 100), each ``predictive_target`` with ``forecaster: {model: arima,
train_window: 7d}``, read 7 days of 1-minute history backfilled into a real Prometheus
(Debian's package, started on 127.0.0.1): the NASA trace, shifted and scaled per group.
The daemon (``Daemon`` as ``autoscaler run`` builds it, its scheduler running) starts
cold; the bench times start -> every group forecasting from its own fitted model. It
is then stopped and started again on the same state directory (a restart): the stored
models, younger than their retrain period, are used at once. The baseline, measured
in the same run: a cold start with every fit on its group's refit thread (the
design before the fit pool), run last so that the cold start pays for starting the
workers. Prints the times, their ratio to the baseline, the CPU
seconds of the daemon, of its fit workers and of Prometheus, and the RSS.

    nice .venv/bin/python bench/daemon_restart.py [--groups 100] [--days 7] [--data DIR]

Goal (issue 12), 2 cores: every group forecasting with its own model in < 30 s.
Wall time on shared cores measures the neighbours too: the CPU seconds of this process
are printed beside it.

Where the time went (measured on one group, issue 12): the groups ticked every 5 s, so
window, history and model were at 5-second steps (120,960 points a week, not 10,080);
multi-threaded OpenBLAS spun its threads on the models' 3x3 matrices (a fit 3.5x
slower on two busy cores: ``autoscaler`` now defaults BLAS to one thread); ARIMA was
estimated on the whole week (now its last ``ARMA_WINDOW`` points, the season on 5-minute
block means); the naive fallback computed its bands one lead at a time. Then (31.0 s
on the quiet machine): the fits ran on threads, one at a time under the interpreter
lock whatever the cores; they now run in worker processes (``autoscaler.fit_pool``).
The model is the calibrated one the forecast benches score (conformal around ARIMA,
two fits each); a group's first fit calibrates with one (``calibrated: once``), its
next refit, an hour later, with two.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autoscaler.cli import single_thread_blas  # noqa: E402

single_thread_blas(os.environ)  # as ``autoscaler run`` does, before numpy is imported
import numpy as np  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from autoscaler.adapters.prometheus_source import PrometheusSource  # noqa: E402
from autoscaler.config import Config, GroupConfig, parse_config  # noqa: E402
from autoscaler.daemon.clock import SimulatedClock  # noqa: E402
from autoscaler.daemon.logs import LogSink  # noqa: E402
from autoscaler.daemon.metrics import DaemonMetrics  # noqa: E402
from autoscaler.daemon.notify import SystemdNotifier  # noqa: E402
from autoscaler.daemon.redact import Redactor  # noqa: E402
from autoscaler.daemon.service import Daemon, Settings  # noqa: E402
from autoscaler.daemon.state import SqliteStateStore  # noqa: E402
from autoscaler.daemon.world import LockedCloud  # noqa: E402
from autoscaler.fit_pool import close_shared_pool  # noqa: E402
from autoscaler.simulator.boot import BootDelay  # noqa: E402
from autoscaler.simulator.cloud import SimCloud  # noqa: E402
from autoscaler.traces import load_trace  # noqa: E402
from tests.fakes.prometheus_server import PrometheusProcess, Series, backfill  # noqa: E402

NASA = REPO.parent / "shared" / "data" / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
STEP = timedelta(minutes=1)
BASE = "cold start, fits on threads (baseline)"


class PrometheusWorld:
    """Real Prometheus sources, a simulated cloud, a clock at the data's end."""

    refit_inline = False

    def __init__(self, url: str, end: datetime) -> None:
        self.url = url
        self.clock = SimulatedClock(end, 1.0)
        self.sim = SimCloud(BootDelay("fixed", timedelta(minutes=2)))
        self.cloud = LockedCloud(self.sim, threading.Lock())

    def source_for(self, group: GroupConfig) -> PrometheusSource:
        return PrometheusSource(self.url, timeout=30.0)

    def cloud_for(self, group: GroupConfig) -> LockedCloud:
        if group.name not in self.sim.groups:
            self.sim.create_group(group.name, 5, self.clock.now())
        return self.cloud

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        with self.cloud.lock:
            self.sim.advance(now)


def config(n: int, url: str, days: int) -> Config:
    groups = [
        {
            "name": f"g{i:03d}",
            "max_size": 60,
            "capacity_per_instance": 100,
            "interval": "1m",  # the data's step: the window, the history and the model are at it
            "metric": {
                "source": "prometheus",
                "query": f'bench_load{{group="g{i:03d}"}}',
                "lookback": "1h",
                "prometheus": {"url": url},
            },
            "policies": [{"kind": "predictive_target"}],
            "forecaster": {"model": "arima", "train_window": f"{days}d", "retrain": "1h"},
        }
        for i in range(n)
    ]
    return parse_config({"groups": groups})


def start(cfg: Config, world: PrometheusWorld, state: Path, threads: bool = False) -> Daemon:
    redactor = Redactor()
    daemon = Daemon(
        cfg,
        Settings(state / "cfg.yaml", 1.0, 3, timedelta(seconds=30)),
        world=world,  # type: ignore[arg-type]
        store=SqliteStateStore.in_dir(state, redactor=redactor),
        metrics=DaemonMetrics(CollectorRegistry()),
        log=LogSink(io.StringIO(), "json", redactor),
        notifier=SystemdNotifier({}),
    )
    daemon.build_all()
    if threads:  # the baseline: every fit on its group's refit thread, as before the pool
        for rt in daemon.groups.values():
            rt.binding.forecaster.fit_pool = None  # type: ignore[union-attr]
    daemon.start()
    return daemon


def own_models(daemon: Daemon) -> int:
    """Groups whose forecast now comes from their own fitted model (no fallback)."""
    count = 0
    for rt in daemon.groups.values():
        st = rt.binding.forecaster.groups.get(rt.name)  # type: ignore[union-attr]
        count += st is not None and st.model is not None and not st.problem
    return count


def time_to_models(daemon: Daemon, n: int, t0: float, limit: float) -> float:
    while own_models(daemon) < n:
        if time.monotonic() - t0 > limit:
            for rt in daemon.groups.values():
                st = rt.binding.forecaster.groups.get(rt.name)  # type: ignore[union-attr]
                why = "no tick yet" if st is None else st.problem or "no model yet"
                print(f"  {rt.name}: {why}")
            return float("nan")
        time.sleep(0.1)
    return time.monotonic() - t0


def prepared_data(data: Path, groups: int, days: int, work: Path) -> tuple[Path, datetime]:
    """The backfilled TSDB directory and the end of its data: ``data`` as it is when an
    earlier run left it there for the same groups and days, else backfilled now."""
    points = days * 1440 + 60
    stamp = data / "bench-end.txt"
    key = f"{groups} {days}"
    if stamp.exists() and stamp.read_text().split("\n")[0] == key:
        end = datetime.fromisoformat(stamp.read_text().split("\n")[1])
        print(f"reusing {groups} x {points:,} points backfilled in {data}")
        return data, end
    raw = load_trace(str(NASA), fill="zero").values
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    stamps = [(end - (points - 1 - k) * STEP).timestamp() for k in range(points)]
    rng = np.random.default_rng(0)
    series = []
    for i in range(groups):
        load = np.roll(raw, -37 * i)[:points] * rng.uniform(0.5, 2.0)
        series.append(Series("bench_load", {"group": f"g{i:03d}"}, stamps, load.tolist()))
    t = time.monotonic()
    for b in range(0, len(series), 10):  # batches: promtool has a time limit per call
        batch = work / f"backfill-{b}"
        batch.mkdir()
        backfill(series[b : b + 10], data, batch)
    print(f"backfilled {groups} x {points:,} points in {time.monotonic() - t:.1f}s")
    stamp.write_text(f"{key}\n{end.isoformat()}\n")
    return data, end


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid`` and by them (the fit workers), from /proc."""
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--limit", type=float, default=600.0, help="give up after this (s)")
    ap.add_argument(
        "--data",
        type=Path,
        help="keep the backfilled Prometheus data here and reuse it when it is there "
        "(same --groups and --days; the backfill takes minutes)",
    )
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="daemon-restart-") as tmp:
        work = Path(tmp)
        data, end = prepared_data(a.data or work / "data", a.groups, a.days, work)
        prom = PrometheusProcess(data, work)
        try:
            cfg = config(a.groups, prom.url, a.days)
            results: dict[str, float] = {}
            cpu: dict[str, float] = {}
            prom_cpu: dict[str, float] = {}
            workers: dict[str, tuple[int, float, float]] = {}
            origin = time.monotonic()
            # the baseline last: the forkserver then starts (and imports) in the cold start
            phases = [
                ("cold start", "state", False),
                ("restart", "state", False),
                (BASE, "state-threads", True),
            ]
            for phase, state, threads in phases:
                # one timeline: the restart happens later than the first start
                world = PrometheusWorld(
                    prom.url, end + timedelta(seconds=time.monotonic() - origin)
                )
                t0, c0 = time.monotonic(), time.process_time()
                p0 = cpu_seconds(prom.proc.pid)
                kids0 = {k: cpu_seconds(k) for k in descendants(os.getpid())}
                daemon = start(cfg, world, work / state, threads)
                took = time_to_models(daemon, a.groups, t0, a.limit)
                cpu[phase] = time.process_time() - c0
                prom_cpu[phase] = cpu_seconds(prom.proc.pid) - p0
                kids = [k for k in descendants(os.getpid()) if k != prom.proc.pid]
                workers[phase] = (
                    len(kids),
                    sum(cpu_seconds(k) - kids0.get(k, 0.0) for k in kids),
                    sum(rss_mib(k) for k in kids),
                )
                daemon.stop()
                close_shared_pool()  # as ``autoscaler run`` does when it stops
                results[phase] = took
            versions = len(list((work / "state" / "models").glob("*/v*")))
        finally:
            prom.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{a.groups} groups, ARIMA, {a.days} days of 1-minute history from Prometheus")
    print(
        "| phase | start -> every group on its own model (s) | vs fits on threads "
        "| daemon CPU s | fit workers CPU s | Prometheus CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for phase, took in results.items():
        print(
            f"| {phase} | {took:.1f} | {took / results[BASE]:.2f} | {cpu[phase]:.1f} "
            f"| {workers[phase][1]:.1f} | {prom_cpu[phase]:.1f} |"
        )
    n, _, wrss = workers["cold start"]
    print(
        f"\nmodels stored: {versions}; peak RSS {rss:.0f} MiB (daemon), {wrss:.0f} MiB "
        f"(its {n} fit processes, after the cold start); load average at the end "
        f"{os.getloadavg()[0]:.1f}; goal < 30 s on 2 cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
