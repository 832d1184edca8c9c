"""Option types for the CLI, each with its documented range (``autoscaler.limits``).

Click's own ``FloatRange`` lets NaN through (every comparison with NaN is false) and
a plain ``int`` takes any size; these types reject both, so that an option is checked
once, at the edge, with one line naming it.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import click

from autoscaler.durations import format_duration, parse_duration
from autoscaler.limits import MAX_GROUP_SIZE, MAX_SEED


class DurationType(click.ParamType):
    """A duration string ("90s", "5m") within [low, high]; zero only when ``low`` is 0."""

    name = "duration"

    def __init__(self, low: timedelta, high: timedelta) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        try:
            d = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if not self.low <= d <= self.high:
            self.fail(
                f"{value} is outside {format_duration(self.low)}..{format_duration(self.high)}",
                param,
                ctx,
            )
        return d


class FiniteFloat(click.ParamType):
    """A finite number within (low, high] (``low_open``) or [low, high]."""

    name = "number"

    def __init__(self, low: float, high: float, *, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value} is not a finite number", param, ctx)
        above = x > self.low if self.low_open else x >= self.low
        if not (above and x <= self.high):
            bracket = "(" if self.low_open else "["
            self.fail(f"{value} is outside {bracket}{self.low:g}, {self.high:g}]", param, ctx)
        return x


SEED = click.IntRange(0, MAX_SEED)
INSTANCES = click.IntRange(1, MAX_GROUP_SIZE)
