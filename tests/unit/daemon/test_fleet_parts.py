"""The fleet's pure parts: the coordination config, the ring's split, URL handling."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from pydantic import ValidationError

from autoscaler.config.coordination import CoordinationConfig
from autoscaler.daemon.fleet import backend_url_with_timeouts, redact_url, share

PG = "postgresql+psycopg://autoscaler@db/autoscaler"
GROUPS = [f"group-{i}" for i in range(300)]


def test_no_backend_means_one_daemon_and_a_backend_needs_a_shared_database() -> None:
    assert not CoordinationConfig().enabled
    cfg = CoordinationConfig(backend_url="redis://127.0.0.1:6379", state_url=PG)
    assert cfg.enabled and cfg.heartbeat == timedelta(seconds=1)
    with pytest.raises(ValidationError, match="state_url is required with backend_url"):
        CoordinationConfig(backend_url="redis://127.0.0.1:6379")
    with pytest.raises(ValidationError, match="backend_url must start with one of redis://"):
        CoordinationConfig(backend_url="memcached://x", state_url=PG)
    with pytest.raises(ValidationError, match="state_url must start with one of postgresql://"):
        CoordinationConfig(backend_url="redis://x", state_url="sqlite:///x.db")
    with pytest.raises(ValidationError, match="at least two heartbeats"):
        CoordinationConfig(
            backend_url="zookeeper://x", state_url=PG, heartbeat="2s", membership_timeout="3s"
        )


def test_every_group_has_exactly_one_member_and_a_join_moves_about_a_share() -> None:
    three = ["a", "b", "c"]
    owner = {g: m for m in three for g in share(GROUPS, three, m)}
    assert len(owner) == len(GROUPS)
    assert sum(len(share(GROUPS, three, m)) for m in three) == len(GROUPS), "no group twice"
    counts = Counter(owner.values())
    assert min(counts.values()) > 0.2 * len(GROUPS), counts
    four = [*three, "d"]
    after = {g: m for m in four for g in share(GROUPS, four, m)}
    moved = [g for g in GROUPS if after[g] != owner[g]]
    # Consistent hashing: only the groups the newcomer takes move, none between old members.
    assert all(after[g] == "d" for g in moved)
    assert 0.1 * len(GROUPS) < len(moved) < 0.45 * len(GROUPS), len(moved)
    assert share(GROUPS, [], "a") == []


def test_backend_options_follow_the_config_unless_the_url_sets_them() -> None:
    cfg = CoordinationConfig(
        backend_url="redis://h:6379", state_url=PG, membership_timeout="2500ms"
    )
    assert backend_url_with_timeouts("redis://h:6379", cfg) == (
        "redis://h:6379?timeout=3&membership_timeout=2.5"
    )
    assert backend_url_with_timeouts("redis://h:6379?timeout=9", cfg) == (
        "redis://h:6379?timeout=9&membership_timeout=2.5"
    )
    assert redact_url("redis://:s3cret@h:6379") == "redis://***@h:6379"
    assert redact_url("etcd3+http://h:2379") == "etcd3+http://h:2379"
