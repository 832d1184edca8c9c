"""A deterministic discrete-event queue: a heap of (time, priority, sequence, payload).

Events at the same time pop by priority (lower first), then in the order they were
pushed, so a simulation replays identically. Generic over the payload; nothing here
knows what an event means.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Generic, TypeVar

T = TypeVar("T")


class EventQueue(Generic[T]):
    """Min-heap of events. ``pop`` on an empty queue raises IndexError."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, T]] = []
        self._seq = itertools.count()

    def push(self, time: float, payload: T, priority: int = 0) -> None:
        """Schedule ``payload`` at ``time`` (any unit, as long as it is one unit)."""
        heapq.heappush(self._heap, (time, priority, next(self._seq), payload))

    def pop(self) -> tuple[float, T]:
        """The earliest event as ``(time, payload)``."""
        time, _, _, payload = heapq.heappop(self._heap)
        return time, payload

    def peek_time(self) -> float | None:
        """Time of the earliest event, or None when empty."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
