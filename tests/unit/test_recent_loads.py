"""The loads map shared by the daemon's engines: its own lock, snapshots for readers."""

from __future__ import annotations

import threading

import numpy as np

from autoscaler.recent_loads import GroupLoad, RecentLoads


def load(value: float) -> GroupLoad:
    return GroupLoad(np.array([value]), 2, 100.0, 4)


def test_a_snapshot_is_a_copy_that_later_writes_do_not_change():
    recent = RecentLoads()
    recent.put("web", load(1.0))
    snap = recent.snapshot()
    recent.put("api", load(2.0))
    recent.put("web", load(3.0))
    recent.forget("nope")
    assert set(snap) == {"web"} and snap["web"].load[0] == 1.0
    assert recent.groups() == {"web", "api"}
    recent.forget("web")
    assert recent.groups() == {"api"}


def test_writers_and_readers_on_many_threads():
    """Engines on their own threads write while others read: every reader's snapshot
    is a whole map (each value one writer's), and nothing is lost or raised."""
    recent, errors = RecentLoads(), []
    names = [f"g{i}" for i in range(8)]

    def write(name: str) -> None:
        for k in range(2000):
            recent.put(name, load(float(k)))
        recent.put(name, load(-1.0))

    def read() -> None:
        try:
            for _ in range(2000):
                for g in recent.snapshot().values():
                    assert g.ready == 2 and len(g.load) == 1
        except Exception as exc:  # what the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in names]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert recent.groups() == set(names)
    assert all(g.load[0] == -1.0 for g in recent.snapshot().values())
