"""Duration strings at the edges ("90s", "5m", "1h30m", "200ms") and back."""

from __future__ import annotations

import re
from datetime import timedelta

from autoscaler.limits import MAX_DURATION

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
HINT = "use 90s, 5m, 1h"


def parse_duration(text: str | timedelta) -> timedelta:
    """Parse ``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"`` into a timedelta.

    A ``timedelta`` passes through. Raises ``ValueError`` with a message naming the
    accepted forms on anything else (bare numbers included: the unit must be explicit),
    and on durations longer than ``MAX_DURATION`` (ten years).
    """
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r} ({HINT})")
    s = text.strip().lower()
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f'invalid duration "{text}" ({HINT})')
    if not total <= MAX_DURATION.total_seconds():  # also catches inf from huge numbers
        raise ValueError(f'duration "{text}" is longer than {format_duration(MAX_DURATION)}')
    return timedelta(seconds=total)


def format_duration(d: timedelta) -> str:
    """The shortest exact duration string for ``d`` (``timedelta(seconds=90)`` -> ``"90s"``)."""
    ms = round(d.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    for unit, factor in (("w", 604800000), ("d", 86400000), ("h", 3600000), ("m", 60000)):
        if ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
