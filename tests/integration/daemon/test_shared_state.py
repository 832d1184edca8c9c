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
