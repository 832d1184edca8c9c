"""A five-field cron expression matcher (minute hour day-of-month month day-of-week).

Each field is ``*``, a number, a range ``a-b``, any of these with a step ``/n``, or a
comma-separated list of them. Day of week is 0-7 with both 0 and 7 meaning Sunday. As in
classic cron, when both day fields are restricted a time matches if *either* does.
Written here rather than pulled in as a dependency: matching (not scheduling) is all
the schedule policy needs, and it is a few dozen lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))


class CronError(ValueError):
    """A cron expression cannot be parsed; the message names the field and the problem."""


def _number(text: str, name: str, lo: int, hi: int) -> int:
    if not text.isdigit():
        raise CronError(f"{name} field: {text!r} is not a number")
    n = int(text)
    if not lo <= n <= hi:
        raise CronError(f"{name} field: {n} is outside {lo}-{hi}")
    return n


def _parse_field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, name, 1, hi - lo + 1) if step_text else 1
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _number(a, name, lo, hi), _number(b, name, lo, hi)
            if start > end:
                raise CronError(f"{name} field: range {base!r} runs backwards")
        else:
            start = _number(base, name, lo, hi)
            end = hi if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpr:
    """A parsed cron expression; ``matches(t)`` is true for the minutes it selects."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, text: str) -> CronExpr:
        """Parse ``text``. Raises ``CronError`` naming the bad field."""
        parts = text.split()
        if len(parts) != 5:
            raise CronError(f"cron expression {text!r} needs 5 fields, has {len(parts)}")
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] != "*", parts[4] != "*")

    def matches(self, t: datetime) -> bool:
        """Whether the minute containing ``t`` (in ``t``'s own timezone) is selected."""
        if t.minute not in self.minutes or t.hour not in self.hours:
            return False
        if t.month not in self.months:
            return False
        day_ok = t.day in self.days
        weekday_ok = (t.isoweekday() % 7) in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok
