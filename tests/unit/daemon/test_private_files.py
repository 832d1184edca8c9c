"""What the daemon writes (state.db and its WAL, the lock, the model store) is 0600 in
0700 folders, whatever the umask, and existing folders and files of ours are tightened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from autoscaler.daemon.dir_lock import StateDirLock
from autoscaler.daemon.state import SqliteStateStore
from autoscaler.durations import parse_duration
from autoscaler.forecasters.registry import build_forecaster
from autoscaler.forecasters.store import ModelStore
from autoscaler.private_files import private_dir


@pytest.fixture(params=[0o000, 0o022, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]
    }


def _run_daemon_writers(state_dir: Path) -> dict[str, int]:
    """The modes of everything under ``state_dir`` while the daemon's writers hold it."""
    lock = StateDirLock.acquire(state_dir)
    store = SqliteStateStore.in_dir(state_dir)
    store.set_policy_memory("web", "threshold", {"x": 1})  # a write: the WAL exists now
    step = parse_duration("5m")
    idx = pd.date_range("2024-01-01", periods=24, freq=step, tz="UTC")
    model = build_forecaster("naive", step).fit(pd.Series(range(24), index=idx, dtype=float))
    ModelStore(state_dir / "models").save("web", model)
    modes = _modes(state_dir)
    lock.release()
    store.close()
    return modes


def test_a_new_state_dir_is_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    state_dir = tmp_path / "var" / "lib" / "autoscaler"
    modes = _run_daemon_writers(state_dir)
    assert {"daemon.lock", "state.db", "state.db-wal", "state.db-shm", "models/web/CURRENT"} <= set(
        modes
    )
    for name, mode in modes.items():
        want = 0o700 if (state_dir / name).is_dir() else 0o600
        assert mode == want, (name, oct(mode), oct(umask))
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700  # made by us: ours only


def test_existing_folders_and_files_of_ours_are_tightened(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    old = os.umask(0o022)
    try:
        state_dir = tmp_path / "state"
        (state_dir / "models").mkdir(parents=True, mode=0o755)
        state_dir.chmod(0o755)
        (state_dir / "state.db").touch(mode=0o644)
        (state_dir / "daemon.lock").touch(mode=0o666)
        modes = _run_daemon_writers(state_dir)
    finally:
        os.umask(old)
    assert "state.db-wal" in modes
    for name, mode in modes.items():
        want = 0o700 if (state_dir / name).is_dir() else 0o600
        assert mode == want, (name, oct(mode))
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # a parent we did not make: untouched


def test_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OSError):
        private_dir(tmp_path / "f" / "state")
