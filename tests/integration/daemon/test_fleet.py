"""Three real ``autoscaler run`` members, real redis-server (tooz) and real PostgreSQL
(the shared state), thirty groups on a shared fake cloud: kill -9 one member, stop and
start redis, cut one member off redis. Across it all the cloud applies exactly one
action per decision, and a member never acts while another owns its groups."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, wait_until
from fleet_members import (
    GROUPS,
    HEARTBEAT,
    INTERVAL,
    MEMBERSHIP_TIMEOUT,
    assert_one_action_per_decision,
    calls,
    query,
    start_members,
)
from fleet_servers import PostgresServer, RedisServer
from tcp_proxy import CuttableProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def redis(tmp_path: Path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres():
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def test_three_members_share_thirty_groups_through_every_failure(
    tmp_path: Path, redis: RedisServer, postgres: PostgresServer
) -> None:
    state_url = postgres.create_database("fleet")
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    proxy = CuttableProxy(redis.port)  # m3's only road to redis
    t0 = time.time()
    members: dict[str, DaemonProcess] = {}
    try:
        backends = {"m1": redis.url, "m2": redis.url, "m3": proxy.url}
        start_members(tmp_path, backends, state_url, cloud, t0, members)

        def owners() -> dict[str, str]:
            return dict(query(state_url, "SELECT grp, owner FROM leases"))

        def evaluated_by(after: float) -> dict[str, set[str]]:
            """group -> members that wrote a tick record after wall time ``after``."""
            seen: dict[str, set[str]] = {}
            for grp, member, rec in query(
                state_url, "SELECT grp, member, record FROM audit WHERE id > %s", last_id(after)
            ):
                if json.loads(rec).get("event", "tick") == "tick":
                    seen.setdefault(grp, set()).add(member)
            return seen

        marks: list[tuple[float, int]] = []

        def last_id(after: float) -> int:
            return max((i for t, i in marks if t <= after), default=0)

        def mark() -> float:
            now = time.time()
            marks.append((now, query(state_url, "SELECT coalesce(max(id), 0) FROM audit")[0][0]))
            return now

        # 1. All three take a share of the thirty groups and evaluate it.
        wait_until(
            lambda: len(owners()) == 30 and set(owners().values()) == {"m1", "m2", "m3"},
            30,
            "three members to lease all thirty groups",
        )
        for d in members.values():
            wait_until(lambda d=d: d.get("/readyz")[0] == 200, 20, "every member ready")
        start = mark()
        wait_until(lambda: set(evaluated_by(start)) == set(GROUPS), 10, "every group evaluated")
        shares = Counter(owners().values())
        assert all(n >= 3 for n in shares.values()), shares

        # 2. kill -9 one member: the others evaluate its groups within two intervals.
        orphans = {g for g, o in owners().items() if o == "m1"}
        members["m1"].proc.kill()
        members["m1"].proc.wait(10)
        killed = mark()
        wait_until(
            lambda: all(evaluated_by(killed).get(g, set()) - {"m1"} for g in orphans),
            2 * INTERVAL + 1.0,  # the +1 s is the polling and the database round trips
            "the orphaned groups evaluated by the survivors within two intervals",
        )
        took = time.time() - killed
        assert took <= 2 * INTERVAL + 1.0, took
        assert set(owners().values()) == {"m2", "m3"}

        # 3. redis goes away: every member holds and goes not ready, then resumes.
        redis.stop()
        for m in ("m2", "m3"):
            wait_until(
                lambda m=m: members[m].get("/readyz")[0] == 503, 2 * HEARTBEAT + 3, f"{m} not ready"
            )
            _code, body = members[m].get("/readyz")
            assert "coordination: cannot reach redis://127.0.0.1" in body, body
            assert "autoscaler_coordination_connected 0.0" in members[m].get("/metrics")[1]
        held = time.time()
        calls_before = len(calls(cloud))
        time.sleep(2 * INTERVAL)
        assert [c for c in calls(cloud) if c["wall"] > held] == [], "a member acted while holding"
        assert len(calls(cloud)) == calls_before
        assert evaluated_by(mark()) == {}
        redis.start()
        for m in ("m2", "m3"):
            wait_until(lambda m=m: members[m].get("/readyz")[0] == 200, 10, f"{m} ready again")
        back = mark()
        wait_until(lambda: set(evaluated_by(back)) == set(GROUPS), 3 * INTERVAL, "resumed")

        # 4. m3 is cut off redis (its connection dropped): m2 takes its groups, and m3
        # acts on none of them while m2 owns them.
        wait_until(lambda: set(owners().values()) == {"m2", "m3"}, 5, "both members leasing")
        cut_groups = {g for g, o in owners().items() if o == "m3"}
        assert cut_groups
        proxy.cut()
        cut = time.time()
        wait_until(lambda: members["m3"].get("/readyz")[0] == 503, 3, "m3 not ready")
        wait_until(lambda: set(owners().values()) == {"m2"}, 3 * MEMBERSHIP_TIMEOUT, "m2 owns all")
        taken = mark()
        wait_until(
            lambda: all("m2" in evaluated_by(taken).get(g, set()) for g in cut_groups),
            3 * INTERVAL,
            "m2 evaluating m3's groups",
        )
        time.sleep(INTERVAL)
        during = evaluated_by(taken)
        proxy.heal()
        healed = time.time()
        during_cut = [c for c in calls(cloud) if cut < c["wall"] < healed]
        # m3 trusts its view of the ring for membership_timeout - heartbeat after its
        # last good heartbeat (before the cut); a call already past the fence may land a
        # little later. After that it holds everything.
        late = [
            c for c in during_cut if c["member"] == "m3" and c["wall"] > cut + MEMBERSHIP_TIMEOUT
        ]
        assert late == [], "m3 acted after its view of the ring expired"
        # Never two owners: once m2 acts on a group, m3 does not act on it any more.
        first_m2 = {}
        for c in during_cut:
            if c["member"] == "m2":
                first_m2.setdefault(c["group"], c["wall"])
        overlap = [
            c
            for c in during_cut
            if c["member"] == "m3" and c["wall"] >= first_m2.get(c["group"], float("inf"))
        ]
        assert overlap == [], "m3 acted on a group m2 had taken"
        assert all("m3" not in during.get(g, set()) for g in GROUPS), "m3 evaluated while cut off"
        # Back on the ring: m3 gets a share again within a heartbeat or two.
        wait_until(lambda: "m3" in set(owners().values()), 5, "m3 to rejoin the ring")
        wait_until(lambda: members["m3"].get("/readyz")[0] == 200, 5, "m3 ready again")
        time.sleep(INTERVAL)
        for m in ("m2", "m3"):
            assert members[m].stop(timeout=20) == 0  # a loaded CI box: 3 daemons, 2 servers
    finally:
        for name, d in members.items():
            d.kill()
            print(f"--- {name}", *d.lines[-25:], sep="\n")  # shown when the test fails
        proxy.close()

    # 5. Over the whole test: exactly one action per decision, none repeated or lost.
    applied = assert_one_action_per_decision(cloud, state_url)
    assert len(applied) > 30, "the groups kept scaling"


@pytest.mark.parametrize(
    ("hang", "settled"), [("after", "already_applied"), ("before", "reissued")]
)
def test_the_next_owner_settles_an_action_its_dead_owner_left_in_flight(
    tmp_path: Path, redis: RedisServer, postgres: PostgresServer, hang: str, settled: str
) -> None:
    state_url = postgres.create_database(f"inflight_{hang}")
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    (cloud / f"hang-{hang}-m1").touch()
    t0 = time.time()
    members: dict[str, DaemonProcess] = {}
    try:
        start_members(tmp_path, {"m1": redis.url, "m2": redis.url}, state_url, cloud, t0, members)
        wait_until(lambda: (cloud / "hung-m1").exists(), 30, "m1 caught inside scale")
        members["m1"].proc.kill()
        members["m1"].proc.wait(10)
        hung = [
            aid
            for aid, member in query(
                state_url, "SELECT action_id, member FROM actions WHERE outcome IS NULL"
            )
            if member == "m1"
        ]
        assert hung, "m1 died with its intent journalled and no outcome"
        for aid in hung:
            members["m2"].wait_for_line(
                lambda x, aid=aid: f"reconciled interrupted action {aid}: {settled}" in x, 20
            )
        time.sleep(INTERVAL)
        assert members["m2"].stop(timeout=20) == 0
    finally:
        for d in members.values():
            d.kill()
    applied = [c["id"] for c in calls(cloud) if not c["duplicate"]]
    assert all(applied.count(aid) == 1 for aid in hung), "each reached the cloud exactly once"
    assert len(applied) == len(set(applied))
    outcome = dict(query(state_url, "SELECT action_id, outcome FROM actions"))
    assert set(outcome.values()) == {"done"}, outcome
    for aid in hung:
        by = query(state_url, "SELECT member, record FROM audit WHERE action_id = %s", aid)
        assert [(m, json.loads(r).get("reconciled")) for m, r in by if "reconciled" in r] == [
            ("m2", settled)
        ]


def test_an_owner_cut_off_inside_a_call_is_not_sent_again_by_its_successor(
    tmp_path: Path, redis: RedisServer, postgres: PostgresServer
) -> None:
    """m1 is inside ``scale`` (its fence passed) when it is cut off redis; m2 takes its
    groups, and m1's call lands after that. m2 waits out the handoff grace before it
    settles, so it finds the action applied and does not send it again."""
    state_url = postgres.create_database("handoff")
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    proxy = CuttableProxy(redis.port)  # m1's only road to redis
    t0 = time.time()
    members: dict[str, DaemonProcess] = {}
    try:
        start_members(tmp_path, {"m1": proxy.url, "m2": redis.url}, state_url, cloud, t0, members)
        wait_until(
            lambda: (
                set(dict(query(state_url, "SELECT grp, owner FROM leases")).values())
                == {"m1", "m2"}
            ),
            30,
            "both members leasing",
        )
        (cloud / "hang-before-m1").touch()
        wait_until(lambda: (cloud / "hung-m1").exists(), 30, "m1 caught inside scale")
        proxy.cut()

        rows = query(state_url, "SELECT action_id, grp, member FROM actions WHERE outcome IS NULL")
        hung = [a for a, _g, m in rows if m == "m1"]
        assert hung, "m1 is inside scale with its intent journalled"
        hung_groups = {g for _a, g, m in rows if m == "m1"}
        wait_until(
            lambda: all(
                o == "m2"
                for g, o in query(state_url, "SELECT grp, owner FROM leases")
                if g in hung_groups
            ),
            6 * MEMBERSHIP_TIMEOUT,
            "m2 to take the groups m1 was acting on",
        )
        (cloud / "hang-before-m1").unlink()  # m1's calls land now, after the takeover
        for aid in hung:
            members["m2"].wait_for_line(
                lambda x, aid=aid: f"reconciled interrupted action {aid}: already_applied" in x,
                20,
            )
    finally:
        for d in members.values():
            d.kill()
        proxy.close()
    log = calls(cloud)
    assert [c for c in log if c["duplicate"]] == [], "an action was sent again"
    applied = [c["id"] for c in log]
    assert all(applied.count(aid) == 1 for aid in hung)
    outcome = dict(query(state_url, "SELECT action_id, outcome FROM actions"))
    assert all(outcome[aid] == "done" for aid in hung), outcome
