"""Benchmark: three ``autoscaler run`` members sharing 1,000 groups on one machine.

Real redis-server (tooz) and a throwaway PostgreSQL (the shared state), the fleet
test's shared fake cloud (SQLite), 15 s intervals. The three members are started
together, as an operator's hosts would be. It prints:

* start-up: when all three serve, and when the ring has settled (every group leased
  to one of them and evaluated by its owner);
* per member over three intervals: the groups it owns, its ticks, the longest gap
  between two evaluations of one of its groups (a member that keeps up shows the
  interval), the mean tick, and its round: the time its workers are busy to evaluate
  its share once (the sum of its tick times over the window, per interval, over its
  workers), with the CPU seconds the process spent per interval and how long its
  threads queued for a CPU (``/proc``: on a shared machine the queue is the other load);
* ``kill -9`` of one member: the time until every group it owned is evaluated again
  by the others (the fleet test's promise: within two intervals).

Needs Debian's redis-server and postgresql; exits 0 with a note otherwise.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "tests" / "integration" / "daemon"
sys.path.insert(0, str(HELPERS))
sys.path.insert(0, str(ROOT / "bench"))

from daemon_process import DaemonProcess, wait_until, with_world  # noqa: E402
from fleet_servers import PostgresServer, RedisServer  # noqa: E402
from fleet_world import START  # noqa: E402
from proc_cpu import ProcCpu, _proc  # noqa: E402

SPEEDUP = 4.0
INTERVAL = 15.0  # real seconds (60 s simulated)
WORKERS = 8  # the daemon's evaluation threads (service.Daemon.start)
MEMBERS = ("m1", "m2", "m3")


def config(path: Path, member: str, groups: int, redis: str, db: str) -> Path:
    rows = "\n".join(
        f"  - {{name: g-{i}, min_size: 1, max_size: 20, interval: {int(INTERVAL * SPEEDUP)}s,"
        " cooldown_up: 0s, cooldown_down: 0s, metric: {lookback: 5m},"
        " policies: [{kind: target, target: 0.5, stabilization_down: 0s}]}"
        for i in range(groups)
    )
    path.write_text(
        f"daemon: {{speedup: {SPEEDUP}}}\n"
        f"coordination: {{backend_url: '{redis}', state_url: '{db}', member_id: {member},"
        " heartbeat: 1s, membership_timeout: 5s}\n"
        f"groups:\n{rows}\n"
    )
    return path


def sql(db: str, statement: str, *args: object) -> list[tuple]:
    import psycopg

    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as c:
        return c.execute(statement, args).fetchall()


def ticks(db: str, after_id: int = 0) -> list[tuple[int, str, str, float]]:
    """(id, group, member, real seconds since the simulated clock's start) per tick."""
    rows = sql(
        db,
        "SELECT id, grp, member, at FROM audit WHERE id > %s AND record NOT LIKE %s",
        after_id,
        '%"event": "reconcile"%',
    )
    return [
        (i, g, m, (datetime.fromisoformat(at) - START).total_seconds() / SPEEDUP)
        for i, g, m, at in rows
    ]


def mark(db: str) -> int:
    return int(sql(db, "SELECT coalesce(max(id), 0) FROM audit")[0][0])


def owners(db: str) -> dict[str, str]:
    return dict(sql(db, "SELECT grp, owner FROM leases"))


def tick_seconds(d: DaemonProcess) -> tuple[float, float]:
    """(sum of tick durations, number of ticks) over all groups, from /metrics (some
    40 series per group: rendering them takes seconds)."""
    import urllib.request

    with urllib.request.urlopen(d.url + "/metrics", timeout=120) as r:
        text = r.read().decode()
    total = {"sum": 0.0, "count": 0.0}
    for kind, value in re.findall(
        r"^autoscaler_tick_duration_seconds_(sum|count)\{[^}]*\} (\S+)$", text, re.M
    ):
        total[kind] += float(value)
    return total["sum"], total["count"]


def cpu_of(pid: int) -> ProcCpu | None:
    """The process' CPU and queue seconds (retried: a thread that ends mid-read fails it)."""
    for _ in range(5):
        found = _proc(pid)
        if found is not None:
            return found
    return None


def start_members(tmp: Path, groups: int, redis: str, db: str) -> dict[str, DaemonProcess]:
    """All members at once (each waits for its own "serving on")."""
    t0 = time.time()
    members: dict[str, DaemonProcess] = {}
    errors: list[BaseException] = []

    def start(m: str) -> None:
        try:
            members[m] = DaemonProcess(
                [
                    *("--config", str(config(tmp / f"{m}.yaml", m, groups, redis, db))),
                    *("--state-dir", str(tmp / m), "--port", "0", "--log-format", "json"),
                ],
                {
                    "PYTHONPATH": str(HELPERS),
                    "FAKE_CLOUD_DIR": str(tmp / "cloud"),
                    "FAKE_MEMBER": m,
                    "FLEET_T0": repr(t0),
                },
                command=with_world("fleet_world:build"),
                start_timeout=600,
            )
        except BaseException as exc:  # reported below, after the others
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(m,)) for m in MEMBERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for d in members.values():
            d.kill()
        raise errors[0]
    return members


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not installed: nothing measured")
        return
    tmp = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    redis, pg = RedisServer(tmp), PostgresServer()
    redis.start()
    pg.start()
    members: dict[str, DaemonProcess] = {}
    try:
        db = pg.create_database("bench")
        (tmp / "cloud").mkdir()
        t0 = time.time()
        members = start_members(tmp, args.groups, redis.url, db)
        up = time.time() - t0
        everyone = set(MEMBERS)

        def settled() -> bool:
            lease = owners(db)
            if len(lease) < args.groups or set(lease.values()) != everyone:
                return False
            by_owner = {(g, m) for _, g, m, _ in ticks(db)}
            return all((g, m) in by_owner for g, m in lease.items())

        wait_until(settled, 600, "every group leased and evaluated by its owner")
        print(
            f"{args.groups} groups, 3 members started together: all serving after {up:.1f}s, "
            f"ring settled (every group leased and evaluated by its owner) after "
            f"{time.time() - t0:.1f}s"
        )
        measure_rounds(members, db, 3)
        measure_kill(members, db)
    finally:
        for d in members.values():
            d.kill()
        redis.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def measure_rounds(members: dict[str, DaemonProcess], db: str, intervals: int) -> None:
    time.sleep(INTERVAL)  # past the take-overs of the start
    # Scraping /metrics takes seconds at this size: the window is between the scrapes.
    before = {m: (tick_seconds(d), cpu_of(d.proc.pid)) for m, d in members.items()}
    first, t = mark(db), time.monotonic()
    time.sleep(INTERVAL * intervals)
    last, window = mark(db), time.monotonic() - t
    after = {m: (tick_seconds(d), cpu_of(d.proc.pid)) for m, d in members.items()}
    window_scraped = time.monotonic() - t  # what the metrics' difference covers
    lease = owners(db)
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    count: dict[str, int] = defaultdict(int)
    for i, g, m, at in ticks(db, first):
        if i <= last:
            times[(g, m)].append(at)
            count[m] += 1
    print(
        f"over {window / INTERVAL:.1f} intervals of {INTERVAL:.0f}s ({WORKERS} workers per"
        " member):\n"
        f"{'member':<8}{'groups':>8}{'ticks':>7}{'max gap s':>11}{'tick ms':>9}"
        f"{'round s':>9}{'CPU s/interval':>16}{'queued s/interval':>19}"
    )
    for m in members:
        mine = [g for g, o in lease.items() if o == m]
        gaps = [
            b - a
            for g in mine
            for a, b in zip(sorted(times[(g, m)]), sorted(times[(g, m)])[1:], strict=False)
        ]
        missed = sum(1 for g in mine if len(times[(g, m)]) < intervals)
        (s0, n0), p0 = before[m]
        (s1, n1), p1 = after[m]
        rounds = window_scraped / INTERVAL
        tick_ms = 1000 * (s1 - s0) / max(1.0, n1 - n0)
        busy = (s1 - s0) / rounds / WORKERS
        cpu = (p1.on_cpu - p0.on_cpu) / rounds if p0 and p1 else float("nan")
        queued = (p1.queued - p0.queued) / rounds if p0 and p1 else float("nan")
        print(
            f"{m:<8}{len(mine):>8}{count[m]:>7}{max(gaps, default=float('nan')):>11.1f}"
            f"{tick_ms:>9.1f}{busy:>9.2f}{cpu:>16.2f}{queued:>19.2f}"
            + (f"  ({missed} groups ticked fewer than {intervals} times)" if missed else "")
        )


def measure_kill(members: dict[str, DaemonProcess], db: str) -> None:
    orphans = {g for g, o in owners(db).items() if o == "m1"}
    since = mark(db)
    members["m1"].proc.kill()
    killed = time.time()
    members["m1"].proc.wait(10)
    moved: list[float] = []

    def all_back() -> bool:
        if not moved and not orphans & {g for g, o in owners(db).items() if o == "m1"}:
            moved.append(time.time() - killed)
        seen = {g for _, g, m, _ in ticks(db, since) if m != "m1"}
        return orphans <= seen

    wait_until(all_back, 600, "every orphaned group evaluated again")
    took = time.time() - killed
    print(
        f"kill -9 m1 ({len(orphans)} groups): leased by m2/m3 after "
        f"{moved[0] if moved else took:.1f}s, all evaluated again after {took:.1f}s "
        f"(goal: two intervals, {2 * INTERVAL:.0f}s; membership_timeout 5s + heartbeat 1s "
        "before the others may take them)"
    )


if __name__ == "__main__":
    main()
