"""Reconciling interrupted actions against the cloud: neither lost nor repeated."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from daemon_fakes import T0, FlakyCloud

from autoscaler.daemon.reconcile import reconcile
from autoscaler.daemon.state import SqliteStateStore
from autoscaler.model import GroupSpec, ScaleAction

SPEC = GroupSpec("web", 1, 20, 100.0)


def setup(tmp_path: Path, size: int) -> tuple[SqliteStateStore, FlakyCloud, ScaleAction]:
    store = SqliteStateStore(tmp_path / "state.db")
    cloud = FlakyCloud()
    cloud.create_group("web", size, T0)
    a = ScaleAction("web", "web-1", T0, 3, 6, "target: load")
    store.begin_action(a)  # the crash came after the intent
    return store, cloud, a


def test_action_the_cloud_already_applied_is_marked_done_not_repeated(tmp_path: Path) -> None:
    store, cloud, a = setup(tmp_path, 3)
    cloud.scale(a)  # the cloud did it; the daemon died before writing the outcome
    settled = reconcile(store, {"web": (SPEC, cloud)}, T0 + timedelta(minutes=1))
    assert [s.how for s in settled] == ["already_applied"]
    assert cloud.actions == 1 and cloud.scale_calls == ["web-1"]
    assert store.unfinished_actions() == []
    assert store.last_action("web", "up") == a.created_at  # its cooldown holds
    assert [r["action"]["id"] for r in store.audited_actions()] == ["web-1"]


def test_action_the_cloud_never_saw_is_reissued_once_with_its_id(tmp_path: Path) -> None:
    store, cloud, _ = setup(tmp_path, 3)
    settled = reconcile(store, {"web": (SPEC, cloud)}, T0)
    assert [s.how for s in settled] == ["reissued"]
    assert cloud.scale_calls == ["web-1"] and cloud.actions == 1
    assert cloud.status(SPEC).total == 6
    assert reconcile(store, {"web": (SPEC, cloud)}, T0) == []  # idempotent


def test_changed_group_is_superseded_and_missing_group_abandoned(tmp_path: Path) -> None:
    store, cloud, _ = setup(tmp_path, 4)
    store.begin_action(ScaleAction("gone", "gone-1", T0, 1, 2, "x"))
    settled = {s.action.action_id: s.how for s in reconcile(store, {"web": (SPEC, cloud)}, T0)}
    assert settled == {"web-1": "superseded", "gone-1": "abandoned"}
    assert cloud.scale_calls == []
    assert dict(store.journal())["web-1"].startswith("superseded")
    assert store.last_action("web", "up") is None


def test_cloud_error_on_reissue_is_recorded_as_failed(tmp_path: Path) -> None:
    store, cloud, _ = setup(tmp_path, 3)
    cloud.failures = 1
    settled = reconcile(store, {"web": (SPEC, cloud)}, T0)
    assert settled[0].how == "failed" and "503" in settled[0].detail
    assert store.unfinished_actions() == []
    assert cloud.actions == 0
