"""Clocks for the daemon: the wall clock, and a simulated clock that runs faster.

These are the only places in the project that read the real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from autoscaler.model import ensure_utc


class WallClock:
    """Real UTC time."""

    speedup = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Simulated time that starts at ``start`` and advances ``speedup`` times faster
    than the monotonic real clock (``speedup=60``: one simulated minute per second).

    ``monotonic`` is injectable so that tests can drive it by hand.
    """

    def __init__(
        self,
        start: datetime,
        speedup: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speedup > 0:
            raise ValueError(f"speedup must be positive, not {speedup}")
        self.start = ensure_utc(start)
        self.speedup = float(speedup)
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._t0) * self.speedup
        return self.start + timedelta(seconds=elapsed)


def real_seconds(simulated: timedelta, speedup: float) -> float:
    """How many real seconds ``simulated`` time lasts on a clock running ``speedup`` x."""
    return simulated.total_seconds() / speedup
