"""Retry timing shared by the metric sources and cloud adapters: exponential backoff with
full jitter, honouring a server's Retry-After. The sleep function and the random source
are injected so that tests never sleep and runs are reproducible.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; before retry ``n`` (1-based) wait a random time in
    ``[0, min(cap, base * 2**(n-1))]`` seconds, or what the server asked for if longer
    (never more than ``max_retry_after``: a longer wait is the caller's to schedule)."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 20.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        jittered = self.rng.uniform(0.0, min(self.cap, self.base * 2 ** (retry - 1)))
        if retry_after is not None:
            return max(jittered, min(retry_after, self.max_retry_after))
        return jittered

    def wait(self, retry: int, retry_after: float | None = None) -> float:
        """Sleep before retry number ``retry``; returns the seconds slept."""
        seconds = self.delay(retry, retry_after)
        self.sleep(seconds)
        return seconds


def parse_retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds from a Retry-After header; None when absent or unreadable.

    Delta-seconds are taken as they are. An HTTP date is measured from the response's
    own ``Date`` header (no wall clock here); without one it cannot be used.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    if not date:
        return None
    try:
        until, sent = parsedate_to_datetime(value), parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return max(0.0, (until - sent).total_seconds())
