"""What every config module shares: the duration type, the error, the frozen base model
and the way a field's location is written (``groups[0].metric.query``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
)

from autoscaler.durations import format_duration, parse_duration
from autoscaler.input_errors import InputError
from autoscaler.limits import (
    MAX_BOOT_DELAY,
    MAX_DURATION,
    MAX_STEP,
    MAX_TIMEOUT,
    MAX_WINDOW,
    MIN_STEP,
)

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


def duration_in(
    low: timedelta = timedelta(0), high: timedelta = MAX_DURATION, *, positive: bool = False
) -> Any:
    """A duration field limited to [low, high] (and > 0 with ``positive``): zero or a
    week-long tick is an error with its line, never a silent default or a hang."""

    def check(d: timedelta) -> timedelta:
        if positive and d <= timedelta(0):
            raise ValueError(f"must be positive, not {format_duration(d)}")
        if d < low:
            raise ValueError(f"must be at least {format_duration(low)}, not {format_duration(d)}")
        if d > high:
            raise ValueError(f"must be at most {format_duration(high)}, not {format_duration(d)}")
        return d

    return Annotated[
        timedelta,
        BeforeValidator(parse_duration),
        AfterValidator(check),
        PlainSerializer(format_duration, return_type=str),
    ]


Interval = duration_in(MIN_STEP, MAX_STEP)
BootDuration = duration_in(high=MAX_BOOT_DELAY)
Window = duration_in(high=MAX_WINDOW, positive=True)
Span = duration_in(high=MAX_WINDOW)  # zero allowed: cooldowns, stabilisation
Timeout = duration_in(high=MAX_TIMEOUT, positive=True)


class ConfigError(InputError):
    """The configuration is invalid; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class FrozenModel(BaseModel):
    # inf and NaN are never a valid setting (capacity_per_instance: .inf passed before).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def loc_to_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
