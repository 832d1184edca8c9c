"""A pause through one fleet member's API holds the group on the member that owns it:
two real ``autoscaler run`` members on redis-server (tooz) and PostgreSQL."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, wait_until
from fleet_members import (
    HEARTBEAT,
    INTERVAL,
    assert_one_action_per_decision,
    audit_mark,
    calls,
    fleet_config,
    owners,
    query,
    start_member,
)
from fleet_servers import PostgresServer, RedisServer

GROUPS = [f"g-{i}" for i in range(8)]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[RedisServer, PostgresServer]]:
    redis, postgres = RedisServer(tmp_path), PostgresServer()
    redis.start()
    postgres.start()
    yield redis, postgres
    redis.stop()
    postgres.stop()


def post(member: DaemonProcess, path: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(
        member.url + path, data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status


def test_a_pause_through_the_other_member_holds_the_group_on_its_owner(
    tmp_path: Path, servers: tuple[RedisServer, PostgresServer]
) -> None:
    redis, postgres = servers
    state_url = postgres.create_database("pause")
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    t0 = time.time()
    members: dict[str, DaemonProcess] = {}
    try:
        for m in ("m1", "m2"):
            cfg = fleet_config(tmp_path / f"{m}.yaml", m, redis.url, state_url, GROUPS)
            members[m] = start_member(cfg, tmp_path / m, cloud, m, t0)
        wait_until(
            lambda: (
                set(owners(state_url).values()) == {"m1", "m2"}
                and len(owners(state_url)) == len(GROUPS)
            ),
            30,
            "both members leasing",
        )
        # A group m2 owns and acts on, paused through m1.
        group = wait_until(
            lambda: next((c["group"] for c in calls(cloud) if c["member"] == "m2"), None),
            6 * INTERVAL,
            "m2 acting on one of its groups",
        )
        assert owners(state_url)[group] == "m2"
        assert post(members["m1"], f"/v1/groups/{group}/pause", {"reason": "incident"}) == 200
        paused_at = time.time()
        time.sleep(2 * HEARTBEAT)  # m2 sees it at its next heartbeat
        mark = audit_mark(state_url)
        time.sleep(2 * INTERVAL)
        acted = [c for c in calls(cloud) if c["group"] == group and c["wall"] > paused_at]
        # At most a heartbeat for m2 to see it, and its journal refuses an action meanwhile.
        assert [c for c in acted if c["wall"] > paused_at + 2 * HEARTBEAT] == [], acted
        records = [
            json.loads(r)
            for (r,) in query(
                state_url,
                "SELECT record FROM audit WHERE grp = %s AND member = 'm2' AND id > %s",
                group,
                mark,
            )
        ]
        # Still evaluated and recorded; a decision to change the size is held, not acted on.
        assert len(records) >= 2
        assert {r["outcome"] for r in records} <= {"paused", "hold"}, records
        assert all(r.get("action") is None for r in records)
        assert members["m2"].json(f"/v1/groups/{group}")["paused"]

        # Resumed through m1 again: m2 acts on the group again.
        assert post(members["m1"], f"/v1/groups/{group}/resume", {}) == 200
        resumed = time.time()
        wait_until(
            lambda: any(
                c["group"] == group and c["member"] == "m2" and c["wall"] > resumed
                for c in calls(cloud)
            ),
            6 * INTERVAL,
            "m2 acting on the group after the resume",
        )
        for m in ("m1", "m2"):
            assert members[m].stop(timeout=20) == 0
    finally:
        for d in members.values():
            d.kill()
    assert_one_action_per_decision(cloud, state_url)
