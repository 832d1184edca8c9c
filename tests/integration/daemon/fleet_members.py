"""Starting fleet members (``autoscaler run`` on ``fleet_world``) and reading what they
did (the shared database, the fake cloud's call log), for the fleet tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from daemon_process import DaemonProcess, with_world
from fleet_world import CALL_COLUMNS, CLOUD_DB, open_cloud

HERE = Path(__file__).resolve().parent
SPEEDUP = 10.0
GROUPS = [f"g-{i}" for i in range(30)]
INTERVAL = 3.0  # real seconds: 30 s of simulated time at SPEEDUP
HEARTBEAT = 0.5
MEMBERSHIP_TIMEOUT = 2.0


def start_member(cfg: Path, state: Path, cloud: Path, member: str, t0: float) -> DaemonProcess:
    return DaemonProcess(
        ["--config", str(cfg), "--state-dir", str(state), "--port", "0"],
        {
            "PYTHONPATH": str(HERE),
            "FAKE_CLOUD_DIR": str(cloud),
            "FAKE_MEMBER": member,
            "FLEET_T0": repr(t0),
        },
        command=with_world("fleet_world:build"),
    )


def start_members(
    tmp_path: Path,
    backends: dict[str, str],
    state_url: str,
    cloud: Path,
    t0: float,
    members: dict[str, DaemonProcess],
) -> None:
    """Start one member per ``backends`` entry (member -> coordination URL) on the
    shared cloud, into ``members`` as each starts (so a failed start still stops the
    others)."""
    for m, backend in backends.items():
        cfg = fleet_config(tmp_path / f"{m}.yaml", m, backend, state_url, GROUPS)
        members[m] = start_member(cfg, tmp_path / m, cloud, m, t0)


def fleet_config(
    path: Path, member: str, backend: str, state_url: str, groups: Sequence[str]
) -> Path:
    lines = "\n".join(
        f"  - {{name: {g}, min_size: 1, max_size: 20, capacity_per_instance: 100,"
        f" interval: {int(INTERVAL * SPEEDUP)}s, cooldown_up: 0s, cooldown_down: 0s,"
        " metric: {lookback: 5m},"
        " policies: [{kind: target, target: 0.5, stabilization_down: 0s}]}"
        for g in groups
    )
    path.write_text(
        f"daemon: {{speedup: {SPEEDUP}}}\n"
        f"coordination: {{backend_url: '{backend}', state_url: '{state_url}',"
        f" member_id: {member}, heartbeat: {int(HEARTBEAT * 1000)}ms,"
        f" membership_timeout: {int(MEMBERSHIP_TIMEOUT)}s}}\n"
        f"groups:\n{lines}\n"
    )
    return path


def query(url: str, sql: str, *args: object) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as c:
        return c.execute(sql, args).fetchall()


def calls(cloud: Path) -> list[dict]:
    """Every ``scale`` call the fake cloud received, in order."""
    if not (cloud / CLOUD_DB).exists():
        return []
    db = open_cloud(cloud)
    try:
        rows = db.execute(f"SELECT {', '.join(CALL_COLUMNS)} FROM calls ORDER BY seq").fetchall()
        return [
            {**dict(zip(CALL_COLUMNS, r, strict=True)), "group": r[3], "duplicate": bool(r[6])}
            for r in rows
        ]
    finally:
        db.close()


def cloud_sizes(cloud: Path) -> dict[str, int]:
    db = open_cloud(cloud)
    try:
        return dict(db.execute("SELECT name, size FROM groups").fetchall())
    finally:
        db.close()


def assert_one_action_per_decision(cloud: Path, state_url: str) -> list[str]:
    """The cloud applied each decided action exactly once, and the journal closed each.
    Returns the applied action ids."""
    log = calls(cloud)
    applied = [c["id"] for c in log if not c["duplicate"]]
    assert len(applied) == len(set(applied)), "an action reached the cloud twice"
    again = [c for c in log if c["duplicate"]]
    assert again == [], f"an action was sent again: {again}"
    decided = {
        r[0] for r in query(state_url, "SELECT action_id FROM audit WHERE action_id IS NOT NULL")
    }
    assert set(applied) == decided
    journal = query(state_url, "SELECT action_id, outcome FROM actions")
    assert {a for a, _ in journal} == decided
    assert all(o == "done" for _, o in journal), [j for j in journal if j[1] != "done"]
    # Each group is at the target of the last action applied to it.
    last = {c["group"]: c["target"] for c in log if not c["duplicate"]}
    sizes = cloud_sizes(cloud)
    assert {g: sizes[g] for g in last} == last
    return applied


def owners(state_url: str) -> dict[str, str]:
    """group -> the member holding its lease."""
    return dict(query(state_url, "SELECT grp, owner FROM leases"))


def audit_mark(state_url: str) -> int:
    """The newest audit record's id: pass it to ``evaluated_since``."""
    return int(query(state_url, "SELECT coalesce(max(id), 0) FROM audit")[0][0])


def evaluated_since(state_url: str, mark: int) -> dict[str, set[str]]:
    """group -> the members that wrote a tick record after ``mark``."""
    seen: dict[str, set[str]] = {}
    for grp, member, rec in query(
        state_url, "SELECT grp, member, record FROM audit WHERE id > %s", mark
    ):
        if json.loads(rec).get("event", "tick") == "tick":
            seen.setdefault(grp, set()).add(member)
    return seen
