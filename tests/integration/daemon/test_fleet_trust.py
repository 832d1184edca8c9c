"""How long a fleet member trusts its view of the ring, on a real redis: counted from
when its heartbeat was sent, however slow the database reads after it, and a member
whose view lapsed leases (and so reconciles) its groups again before acting."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
from fleet_servers import RedisServer

from autoscaler.config.coordination import CoordinationConfig
from autoscaler.daemon.fleet import FleetMember

pytestmark = pytest.mark.integration
GROUPS = ["g-1", "g-2"]


class SlowLeaseStore:
    """The part of ``SharedStateStore`` a member's heartbeat uses; reading the leases
    takes ``read_s`` on the member's clock, and each lease taken is counted."""

    def __init__(self, clock: list[float], read_s: float) -> None:
        self.clock, self.read_s = clock, read_s
        self.epochs: dict[str, int] = {}
        self.taken: list[list[str]] = []

    def leases_held(self) -> dict[str, int]:
        self.clock[0] += self.read_s
        return dict(self.epochs)

    def paused(self) -> list[str]:
        return []

    def take_leases(self, groups: Collection[str]) -> dict[str, int]:
        self.taken.append(sorted(groups))
        for g in groups:
            self.epochs[g] = self.epochs.get(g, 0) + 1
        return {g: self.epochs[g] for g in groups}

    def forget_groups(self, groups: Collection[str]) -> None:
        pass


class EventLog:
    """The part of the daemon's log a member writes to: ``event(level, message)``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def event(self, level: str, message: str, **_fields: object) -> None:
        self.events.append((level, message))


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def member(redis: RedisServer, store: SlowLeaseStore, clock: list[float]) -> FleetMember:
    cfg = CoordinationConfig(
        backend_url=redis.url,
        state_url="postgresql+psycopg://unused@127.0.0.1/unused",
        heartbeat="500ms",
        membership_timeout="2s",
    )
    reconciled: list[list[str]] = []
    m = FleetMember(
        cfg,
        store,  # type: ignore[arg-type]  # the heartbeat's part of the store
        lambda: GROUPS,
        member_id="m1",
        on_acquire=reconciled.append,
        log=EventLog(),
        monotonic=lambda: clock[0],
    )
    m.reconciled = reconciled  # type: ignore[attr-defined]
    return m


def test_trust_runs_from_the_beat_not_from_the_slow_reads_after_it(redis: RedisServer) -> None:
    clock = [100.0]
    store = SlowLeaseStore(clock, read_s=1.0)  # each beat's lease read takes 1 s
    m = member(redis, store, clock)
    m.connect()  # beats are stepped by hand, not on start()'s thread
    try:
        m.step()  # beat sent at 100.0; the read after it ends at 101.0
        assert m.owned() == GROUPS and m.epoch("g-1") == 1
        clock[0] = 101.4  # 1.4 s after the beat: inside 2 s - 500 ms
        assert m.owns("g-1")
        clock[0] = 101.5  # 1.5 s after the beat (1.0 after the reads ended): lapsed
        assert not m.owns("g-1") and m.epoch("g-1") is None and m.owned() == []
    finally:
        m.stop()


def test_a_member_whose_view_lapsed_leases_and_reconciles_again(redis: RedisServer) -> None:
    clock = [100.0]
    store = SlowLeaseStore(clock, read_s=0.0)
    m = member(redis, store, clock)
    m.connect()
    try:
        m.step()
        clock[0] = 100.5
        m.step()  # on time: the groups stay leased, nothing reconciled again
        assert store.taken == [GROUPS] and m.reconciled == [GROUPS]  # type: ignore[attr-defined]
        clock[0] = 102.5  # two seconds without a beat: others may have taken the groups
        m.step()
        assert store.taken == [GROUPS, GROUPS], "leased again"
        assert m.reconciled == [GROUPS, GROUPS]  # type: ignore[attr-defined]
        assert m.epoch("g-1") == 2 and m.owns("g-2")
        warned = [msg for level, msg in m.log.events if level == "warning"]
        assert warned == [
            "no heartbeat for 2.0s, longer than this member trusts its view of the ring; "
            "leasing and reconciling its groups again"
        ]
    finally:
        m.stop()
