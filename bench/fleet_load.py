"""Benchmark: three ``autoscaler run`` members sharing 1,000 groups on one machine.

Real redis-server (tooz) and a throwaway PostgreSQL (the shared state), the fleet test's
shared fake cloud. Prints, per member: the groups it owns and its round time (from the
first to the last tick start of one round of its share, in real seconds); then the time
from a ``kill -9`` of one member to every one of its groups being evaluated again by the
others. The baseline is the same round with the member's share measured before the kill.
Needs Debian's redis-server and postgresql; exits 0 with a note otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "tests" / "integration" / "daemon"
sys.path.insert(0, str(HELPERS))

from daemon_process import DaemonProcess, wait_until, with_world  # noqa: E402
from fleet_servers import PostgresServer, RedisServer  # noqa: E402
from fleet_world import START  # noqa: E402

SPEEDUP = 4.0
INTERVAL = 15.0  # real seconds (60 s simulated)


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


def ticks(db: str, after_id: int = 0) -> list[tuple[int, str, str, float]]:
    """(id, group, member, real seconds since start of the simulated clock) per tick."""
    import psycopg

    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://")) as c:
        rows = c.execute(
            "SELECT id, grp, member, at FROM audit WHERE id > %s AND record NOT LIKE %s",
            (after_id, '%"event": "reconcile"%'),
        ).fetchall()
    return [
        (i, g, m, (datetime.fromisoformat(at) - START).total_seconds() / SPEEDUP)
        for i, g, m, at in rows
    ]


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
        for m in ("m1", "m2", "m3"):
            members[m] = DaemonProcess(
                [
                    *("--config", str(config(tmp / f"{m}.yaml", m, args.groups, redis.url, db))),
                    *("--state-dir", str(tmp / m), "--port", "0", "--log-format", "json"),
                ],
                {
                    "PYTHONPATH": str(HELPERS),
                    "FAKE_CLOUD_DIR": str(tmp / "cloud"),
                    "FAKE_MEMBER": m,
                    "FLEET_T0": repr(t0),
                },
                command=with_world("fleet_world:build"),
                start_timeout=300,  # the first member leases every group before it serves
            )
        print(f"3 members up in {time.time() - t0:.1f}s, {args.groups} groups")
        # Let the ring settle, then measure one full round per member.
        time.sleep(2 * INTERVAL)
        first = max((i for i, *_ in ticks(db)), default=0)
        time.sleep(INTERVAL * 1.5)
        per: dict[str, list[float]] = defaultdict(list)
        groups_of: dict[str, set[str]] = defaultdict(set)
        for _, g, m, t in ticks(db, first):
            groups_of[m].add(g)
            per[m].append(t)
        print(f"{'member':<8}{'groups':>8}{'ticks':>8}{'round s':>10}")
        for m in sorted(per):
            times = sorted(per[m])
            # One round: the first len(groups) tick starts after the mark.
            n = len(groups_of[m])
            round_s = times[n - 1] - times[0] if len(times) >= n else float("nan")
            print(f"{m:<8}{n:>8}{len(times):>8}{round_s:>10.2f}")
        orphans = groups_of["m1"]
        mark = max(i for i, *_ in ticks(db))
        members["m1"].proc.kill()
        killed = time.time()
        members["m1"].proc.wait(10)

        def all_back() -> bool:
            seen = {g for _, g, m, _ in ticks(db, mark) if m != "m1"}
            return orphans <= seen

        wait_until(all_back, 300, "every orphaned group evaluated again")
        took = time.time() - killed
        print(
            f"kill -9 m1 ({len(orphans)} groups) -> all evaluated again by m2/m3: {took:.1f}s "
            f"(membership_timeout 5s + heartbeat 1s + one {INTERVAL:.0f}s interval = "
            f"{5 + 1 + INTERVAL:.0f}s bound)"
        )
    finally:
        for d in members.values():
            d.kill()
        redis.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
