"""When a fleet member may settle the interrupted actions of a group it has just taken.

A member whose lease lapsed can still be inside a cloud call it began while it held the
lease (its fence check passed just before): on a loaded host or a slow cloud API that
call lands after another member has taken the group. Settling at once would read the
count before the call lands and send the action again. So the taker waits ``grace``
seconds after taking such a group before it settles the action, and the group makes no
decision meanwhile (fail closed). Groups taken with nothing unfinished are not held.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection


class HandoffHolds:
    """Groups waiting out the grace before their unfinished actions are settled.

    ``grace_s`` is in seconds of ``monotonic`` (real time)."""

    def __init__(self, grace_s: float, monotonic: Callable[[], float]) -> None:
        self.grace_s = grace_s
        self._monotonic = monotonic
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()  # the fleet's thread holds, the scheduler's release

    def hold(self, groups: Collection[str]) -> None:
        """Start (or restart) the grace for ``groups``."""
        until = self._monotonic() + self.grace_s
        with self._lock:
            self._until.update(dict.fromkeys(groups, until))

    def waiting(self, group: str, settle: Callable[[list[str]], None]) -> float | None:
        """Seconds ``group`` must still hold, or None when it may decide: it was not
        held, or its grace is over and ``settle([group])`` has just settled it (the
        hold stays if ``settle`` raises, and the next call tries again)."""
        with self._lock:
            until = self._until.get(group)
        if until is None:
            return None
        left = until - self._monotonic()
        if left > 0:
            return left
        settle([group])
        with self._lock:
            if self._until.get(group) == until:  # not taken again meanwhile
                del self._until[group]
        return None
