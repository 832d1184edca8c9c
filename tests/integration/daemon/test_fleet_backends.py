"""The fleet on tooz's etcd3 and ZooKeeper drivers (the redis one is ``test_fleet``):
two real ``autoscaler run`` members on Debian's etcd / ZooKeeper and PostgreSQL split
twelve groups; one cut off its coordinator holds while the other takes its groups; one
that leaves has its groups taken within a heartbeat or two. The cloud applies exactly
one action per decision throughout."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, wait_until
from fleet_members import (
    HEARTBEAT,
    INTERVAL,
    MEMBERSHIP_TIMEOUT,
    assert_one_action_per_decision,
    audit_mark,
    calls,
    evaluated_since,
    fleet_config,
    owners,
    start_member,
)
from fleet_servers import EtcdServer, PostgresServer, ZookeeperServer
from tcp_proxy import CuttableProxy

GROUPS = [f"g-{i}" for i in range(12)]
SERVERS = {"etcd3+http": EtcdServer, "zookeeper": ZookeeperServer}

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(params=sorted(SERVERS))
def coordinator(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[EtcdServer | ZookeeperServer]:
    server = SERVERS[request.param](tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def test_two_members_split_hold_when_cut_off_and_take_over_when_one_leaves(
    tmp_path: Path, coordinator: EtcdServer | ZookeeperServer, postgres: PostgresServer
) -> None:
    scheme = coordinator.url.split("://")[0]
    state_url = postgres.create_database("backend")
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    proxy = CuttableProxy(coordinator.port, scheme=scheme)  # m2's only road to it
    t0 = time.time()
    members: dict[str, DaemonProcess] = {}
    try:
        for m, url in (("m1", coordinator.url), ("m2", proxy.url)):
            cfg = fleet_config(tmp_path / f"{m}.yaml", m, url, state_url, GROUPS)
            members[m] = start_member(cfg, tmp_path / m, cloud, m, t0)

        # 1. Both take a share and evaluate it.
        wait_until(
            lambda: (
                len(owners(state_url)) == len(GROUPS)
                and set(owners(state_url).values()) == {"m1", "m2"}
            ),
            30,
            "two members to lease all the groups",
        )
        for d in members.values():
            wait_until(lambda d=d: d.get("/readyz")[0] == 200, 20, "every member ready")
        start = audit_mark(state_url)
        wait_until(
            lambda: set(evaluated_since(state_url, start)) == set(GROUPS),
            2 * INTERVAL,
            "every group evaluated",
        )

        # 2. m2 is cut off: it holds and goes not ready, m1 takes its groups, and m2
        # never acts on a group m1 has taken (nor at all once its view expired).
        cut_groups = {g for g, o in owners(state_url).items() if o == "m2"}
        proxy.cut()
        cut = time.time()
        wait_until(lambda: members["m2"].get("/readyz")[0] == 503, 3, "m2 not ready")
        _code, body = members["m2"].get("/readyz")
        assert f"coordination: cannot reach {scheme}://127.0.0.1" in body, body
        wait_until(
            lambda: set(owners(state_url).values()) == {"m1"},
            3 * MEMBERSHIP_TIMEOUT,
            "m1 to lease m2's groups",
        )
        taken = audit_mark(state_url)
        wait_until(
            lambda: all(
                "m1" in evaluated_since(state_url, taken).get(g, set()) for g in cut_groups
            ),
            2 * INTERVAL,
            "m1 evaluating m2's groups",
        )
        assert "m2" not in {m for ms in evaluated_since(state_url, taken).values() for m in ms}
        proxy.heal()
        healed = time.time()
        during = [c for c in calls(cloud) if cut < c["wall"] < healed]
        assert [
            c for c in during if c["member"] == "m2" and c["wall"] > cut + MEMBERSHIP_TIMEOUT
        ] == []
        first_m1: dict[str, float] = {}
        for c in during:
            if c["member"] == "m1":
                first_m1.setdefault(c["group"], c["wall"])
        assert [
            c
            for c in during
            if c["member"] == "m2" and c["wall"] >= first_m1.get(c["group"], float("inf"))
        ] == [], "m2 acted on a group m1 had taken"

        # 3. Healed, m2 is back on the ring with a share.
        wait_until(lambda: "m2" in set(owners(state_url).values()), 20, "m2 to rejoin")
        wait_until(lambda: members["m2"].get("/readyz")[0] == 200, 5, "m2 ready again")

        # 4. m1 leaves: m2 takes all its groups within a heartbeat or two.
        left_groups = {g for g, o in owners(state_url).items() if o == "m1"}
        assert left_groups
        members["m1"].signal(signal.SIGTERM)  # it leaves the group on its way out
        left = time.time()
        wait_until(
            lambda: set(owners(state_url).values()) == {"m2"},
            2 * HEARTBEAT + 1.0,  # the +1 s is the polling and the database round trips
            "m2 to lease the groups m1 left",
        )
        took_over = time.time() - left
        assert members["m1"].proc.wait(20) == 0
        mark = audit_mark(state_url)
        wait_until(
            lambda: left_groups <= set(evaluated_since(state_url, mark)),
            2 * INTERVAL,
            "m2 evaluating the groups m1 left",
        )
        print(f"{scheme}: m1's groups leased by m2 {took_over:.2f}s after its SIGTERM")
        assert members["m2"].stop(timeout=20) == 0
    finally:
        for name, d in members.items():
            d.kill()
            print(f"--- {name}", *d.lines[-25:], sep="\n")  # shown when the test fails
        proxy.close()

    applied = assert_one_action_per_decision(cloud, state_url)
    assert applied, "the groups scaled"
