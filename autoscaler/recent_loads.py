"""Every group's latest load, shared by the engines of groups on the same hosts.

Placement predicts each host's load from all the groups on it, so an engine placing
instances of one group reads what the others saw last. The daemon runs one engine per
group, each on its own scheduler thread: the map is an object with its own lock, and
readers get a snapshot (a copy), never the live map.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupLoad:
    """One group's latest load window (raw: the demand is worked out only when
    placing), ready instances, capacity per instance and vCPUs per instance."""

    load: np.ndarray
    ready: int
    capacity: float
    vcpus: int


class RecentLoads:
    """Group name -> its latest ``GroupLoad``; every method is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loads: dict[str, GroupLoad] = {}

    def put(self, group: str, load: GroupLoad) -> None:
        """Record ``group``'s latest load (replacing the one before)."""
        with self._lock:
            self._loads[group] = load

    def forget(self, group: str) -> None:
        """Drop ``group`` (removed from the config); no-op when it is not there."""
        with self._lock:
            self._loads.pop(group, None)

    def snapshot(self) -> dict[str, GroupLoad]:
        """A copy of the map as it is now: later writes do not change it."""
        with self._lock:
            return dict(self._loads)

    def groups(self) -> set[str]:
        """The groups with a recorded load."""
        with self._lock:
            return set(self._loads)
