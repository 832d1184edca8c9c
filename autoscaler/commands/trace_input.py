"""Options shared by the commands that read one trace: --trace, --column, --step, --fill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

from autoscaler.commands.options import DurationType
from autoscaler.durations import parse_duration
from autoscaler.errors import UserError
from autoscaler.limits import MAX_HORIZON_STEPS, MAX_STEP, MIN_STEP
from autoscaler.traces import Trace, load_trace


def trace_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the trace options; the command receives trace_path, column, step, fill."""
    f = click.option(
        "--fill",
        type=click.Choice(["zero", "previous"]),
        default=None,
        help="How to fill gaps in the trace (default: a gap is an error).",
    )(f)
    f = click.option(
        "--step",
        type=DurationType(MIN_STEP, MAX_STEP),
        default=None,
        help="Sample interval (e.g. 5m): required for files without timestamps; "
        "for timestamped files, the trace is resampled (mean) to this step.",
    )(f)
    f = click.option("--column", default=None, help="Value column (when the file has several).")(f)
    f = click.option(
        "--trace",
        "trace_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="CSV trace: timestamp,value (NAB, NASA) or one value a line (PlanetLab).",
    )(f)
    return f


def read_trace(
    trace_path: str, column: str | None, step: timedelta | None, fill: str | None
) -> Trace:
    """Load the trace the options name. Raises ``UserError`` / ``TraceError``."""
    return load_trace(trace_path, column=column, step=step, fill=fill, resample=step)


def parse_horizon(text: str, step: timedelta) -> int:
    """``--horizon``: a number of steps ("12") or a duration ("1h") that is whole steps."""
    s = text.strip()
    if s.isdigit():
        n = int(s)
    else:
        try:
            d = parse_duration(s)
        except ValueError:
            raise UserError(
                f'--horizon: "{text}" is neither a number of steps nor a duration'
            ) from None
        n, rest = divmod(d, step)
        if rest:
            raise UserError(f"--horizon: {text} is not a whole number of {step} steps")
    if n < 1:
        raise UserError(f"--horizon must be at least one step, not {text}")
    if n > MAX_HORIZON_STEPS:
        raise UserError(f"--horizon: {text} is more than {MAX_HORIZON_STEPS:,} steps")
    return int(n)


def parse_quantiles(text: str) -> tuple[float, ...]:
    """``--quantiles 0.1,0.5,0.9``: probabilities strictly between 0 and 1."""
    out = []
    for part in text.split(","):
        try:
            q = float(part)
        except ValueError:
            raise UserError(f"--quantiles: {part.strip()!r} is not a number") from None
        if not 0 < q < 1:
            raise UserError(f"--quantiles: {q} is not strictly between 0 and 1")
        out.append(q)
    return tuple(sorted(set(out)))
