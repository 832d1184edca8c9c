"""``SharedStateStore`` on a real PostgreSQL: the lease epoch fences every acting write,
and a group's state is there for its next owner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fleet_servers import PostgresServer

from autoscaler.daemon.shared_state import FencedError, SharedStateStore
from autoscaler.daemon.state import StateError
from autoscaler.model import ScaleAction

pytestmark = pytest.mark.integration
AT = datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def member(url: str, name: str) -> tuple[SharedStateStore, dict[str, int]]:
    """A store for member ``name`` whose fence reads the epochs it was given."""
    held: dict[str, int] = {}
    store = SharedStateStore(url, name, fence=held.get)
    return store, held


def action(aid: str, current: int = 2, target: int = 4) -> ScaleAction:
    return ScaleAction("web", aid, AT, current, target, "test", (), ())


def test_a_member_whose_lease_was_taken_cannot_journal_an_action(postgres: PostgresServer) -> None:
    url = postgres.create_database("fenced")
    a, a_held = member(url, "a")
    b, b_held = member(url, "b")
    try:
        a_held["web"] = a.take_lease("web")
        a.begin_action(action("a-1"))
        a.finish_action(action("a-1"), "done")
        assert a.lease("web") == ("a", 1)

        # b takes the group while a still believes it owns it (a partition).
        b_held["web"] = b.take_lease("web")
        assert b_held["web"] == 2 and a.lease("web") == ("b", 2)
        with pytest.raises(FencedError, match="lease held by b \\(epoch 2\\)"):
            a.begin_action(action("a-2"))
        with pytest.raises(FencedError):
            a.set_policy_memory("web", "target", {"x": 1})
        assert [aid for aid, _ in b.journal()] == ["a-1"], "a's second intent was refused"

        # The new owner sees what the old one left: cooldowns, the journal, memory.
        assert b.last_action("web", "up") == AT
        b.set_policy_memory("web", "target", {"recommendations": [3, 4]})
        b.begin_action(action("b-1", 4, 6))
        a.forget("web")
        assert a.policy_memory("web", "target") == {"recommendations": [3, 4]}
        assert [x.action_id for x in a.unfinished_actions()] == ["b-1"]
        with pytest.raises(FencedError):
            a.finish_action(action("b-1", 4, 6), "done")
        b.finish_action(action("b-1", 4, 6), "done")
        assert dict(b.journal()) == {"a-1": "done", "b-1": "done"}

        # A member with no lease at all is refused too.
        c, _ = member(url, "c")
        with pytest.raises(FencedError, match="not by this member c \\(epoch None\\)"):
            c.begin_action(action("c-1"))
        c.close()
    finally:
        a.close()
        b.close()


def test_an_intent_journalled_as_the_lease_lapsed_is_not_sent_and_is_left_to_settle(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database("lapsed")
    answers = iter([1, None])  # fresh when the write starts, lapsed when it returns
    a = SharedStateStore(url, "a", fence=lambda _g: next(answers))
    b, b_held = member(url, "b")
    try:
        assert a.take_lease("web") == 1
        with pytest.raises(FencedError, match="lapsed while journalling a-1; not sent"):
            a.begin_action(action("a-1"))
        # The intent is there, unfinished: the group's next owner reconciles it.
        b_held["web"] = b.take_lease("web")
        assert [x.action_id for x in b.unfinished_actions()] == ["a-1"]
    finally:
        a.close()
        b.close()


def test_an_unreachable_database_is_one_line_without_the_password(
    postgres: PostgresServer,
) -> None:
    from fleet_servers import free_port

    url = f"postgresql+psycopg://autoscaler:s3cret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StateError) as err:
        SharedStateStore(url, "a")
    text = str(err.value)
    assert "s3cret" not in text and "***" in text and "\n" not in text
    assert text.startswith("state database postgresql+psycopg://autoscaler:***@127.0.0.1:")


def test_a_pause_and_the_latest_plan_follow_the_group_to_its_next_owner(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database("paused_plans")
    a, _ = member(url, "a")
    b, _ = member(url, "b")
    try:
        a.set_paused("web", AT, "maintenance window")
        a.record_plan("web", {"at": "2024-01-01T00:00:00+00:00", "moves": [], "mode": "plan"})
        a.record_plan("web", {"at": "2024-01-01T01:00:00+00:00", "moves": [], "mode": "plan"})
        (entry,) = b.paused().items()
        assert entry[0] == "web" and entry[1]["reason"] == "maintenance window"
        assert datetime.fromisoformat(entry[1]["at"]) == AT
        assert b.last_plan("web")["at"] == "2024-01-01T01:00:00+00:00"  # replaced, not added
        assert b.last_plan("api") is None
        b.clear_paused("web")
        assert a.paused() == {}
    finally:
        a.close()
        b.close()


def test_leases_for_many_groups_are_taken_in_one_go_and_move_with_their_epochs(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database("many_leases")
    a, a_held = member(url, "a")
    b, _ = member(url, "b")
    groups = [f"g-{i}" for i in range(1200)]  # more than one statement's batch
    try:
        first = a.take_leases(groups)
        assert first == dict.fromkeys(groups, 1)
        assert a.leases_held() == first
        # b takes a third of them (a ring change): their epochs grow, the rest stay a's.
        moved = groups[::3]
        taken = b.take_leases([*moved, *moved[:5]])  # a repeated name is taken once
        assert taken == dict.fromkeys(moved, 2)
        assert a.leases_held() == {g: 1 for g in groups if g not in taken}
        assert b.leases_held() == taken
        assert a.take_leases([]) == {}
        # a's fence still says epoch 1 for a moved group: refused.
        a_held["g-0"] = first["g-0"]
        with pytest.raises(FencedError, match="lease held by b \\(epoch 2\\)"):
            a.begin_action(ScaleAction("g-0", "x-1", AT, 1, 2, "test", (), ()))
    finally:
        a.close()
        b.close()


def test_cached_cooldowns_and_memory_are_read_again_once_the_group_comes_back(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database("caches")
    a, a_held = member(url, "a")
    b, b_held = member(url, "b")
    try:
        a_held["web"] = a.take_lease("web")
        assert a.last_action("web", "up") is None
        a.set_policy_memory("web", "p", [1])
        a.begin_action(action("a-1"))
        a.finish_action(action("a-1"), "done")
        assert a.last_action("web", "up") == AT  # the holder's own write, without a read

        later = datetime(2026, 1, 5, 13, tzinfo=UTC)
        b_held["web"] = b.take_lease("web")
        assert b.last_action("web", "up") == AT and b.policy_memory("web", "p") == [1]
        b.set_policy_memory("web", "p", [2])
        b_action = ScaleAction("web", "b-1", later, 4, 6, "test", (), ())
        b.begin_action(b_action)
        b.finish_action(b_action, "done")
        # A failed action starts no cooldown.
        failed = ScaleAction("web", "b-2", later.replace(minute=5), 6, 8, "test", (), ())
        b.begin_action(failed)
        b.finish_action(failed, "failed: quota")
        assert b.last_action("web", "up") == later

        # a gets the group back: what it cached is dropped, the new owner's state is read.
        a_held["web"] = a.take_lease("web")
        a.forget_groups(["web"])
        assert a.last_action("web", "up") == later
        assert a.policy_memory("web", "p") == [2]
        assert a.cooldowns("web") == {"up": later.isoformat().replace("+00:00", "Z")}
    finally:
        a.close()
        b.close()


def test_each_group_s_newest_decision_is_read_in_one_query(postgres: PostgresServer) -> None:
    url = postgres.create_database("latest")
    a, _ = member(url, "a")
    try:
        for i, g in enumerate(["web", "api", "web"]):
            a.record({"group": g, "at": f"2026-01-05T12:0{i}:00Z", "event": "tick", "n": i})
        latest = a.latest_decisions(["web", "api", "batch"])
        assert {g: r["n"] for g, r in latest.items()} == {"web": 2, "api": 1}
        assert a.decisions("web", 1)[0]["n"] == 2
        assert a.latest_decisions([]) == {}
    finally:
        a.close()


def test_a_dropped_connection_fails_one_call_and_an_idle_one_none(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database("dropped")
    busy = SharedStateStore(url, "busy")  # its connection was just used: not pinged
    idle = SharedStateStore(url, "idle", idle_ping=0.0)  # every connection is pinged
    try:
        for store in (busy, idle):
            store.record({"group": "web", "at": "2026-01-05T12:00:00Z", "event": "tick"})
        # What a database restart does to pooled connections.
        from fleet_members import query

        query(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert len(idle.decisions("web")) == 2  # pinged, replaced, answered
        with pytest.raises(StateError) as err:  # fail closed: one call, one line
            busy.decisions("web")
        assert "\n" not in str(err.value) and "state database" in str(err.value)
        assert len(busy.decisions("web")) == 2  # the pool has reconnected
    finally:
        busy.close()
        idle.close()


def test_a_paused_group_is_refused_at_the_journal_whoever_paused_it(
    postgres: PostgresServer,
) -> None:
    from autoscaler.daemon.shared_state import PausedError

    url = postgres.create_database("paused_fence")
    a, a_held = member(url, "a")
    b, _ = member(url, "b")
    try:
        a_held["web"] = a.take_lease("web")
        b.set_paused("web", AT, "incident")  # through b's API: a has not heard of it
        with pytest.raises(PausedError, match="group web is paused; nothing done"):
            a.begin_action(action("a-1"))
        assert a.journal() == []
        b.clear_paused("web")
        a.begin_action(action("a-1"))
        assert [aid for aid, _ in a.journal()] == ["a-1"]
    finally:
        a.close()
        b.close()
