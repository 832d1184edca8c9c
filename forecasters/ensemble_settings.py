"""``ensemble``'s and ``auto``'s settings, defaulted and checked: out of range is an error.

They were clamped before (``top: 0`` ran as 1, ``margin: 3`` as 0.5, a ``split`` at or
past the validation horizon was dropped, ``recent`` on ``ensemble`` ignored), so a
mistyped setting ran as something else without a word. Raising ``ForecastError``
lets the config load name the field instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from autoscaler.forecasters.series_input import to_steps
from autoscaler.model import ForecastError

MAX_MARGIN = 0.5  # a single member must beat the combination by at most half: beyond, never


def resolved_settings(
    model: Any,
    step: timedelta,
    eval_horizon: int,
    top: Any,
    eval_origins: Any,
    memory: Any,
    recent: Any,
    split: Any,
    margin: Any,
) -> tuple[int, float, int, float]:
    """``(memory, recent, split, margin)`` with ``model``'s defaults for those left
    ``None``; ``split`` in steps (0: off), ``eval_horizon`` in steps.

    Raises ``ForecastError`` naming the first setting out of range: ``top``,
    ``eval_origins`` and ``memory`` whole numbers of at least 1; ``margin`` in
    [0, 0.5]; ``recent`` finite and at least 0; ``split`` shorter than the validation
    horizon; ``recent``, ``margin`` and ``split`` set on ``ensemble`` (auto's only).
    """
    name = model.name
    memory = model.default_memory if memory is None else memory
    for field, value in (("top", top), ("eval_origins", eval_origins), ("memory", memory)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ForecastError(f"{name}: {field} must be a whole number >= 1, not {value!r}")
    given = [k for k, v in (("recent", recent), ("split", split), ("margin", margin)) if v]
    if given and not model.select_best:
        raise ForecastError(f"{name}: {', '.join(given)} apply to auto only")
    recent = float(model.default_recent if recent is None else recent)
    margin = float(model.default_margin if margin is None else margin)
    split = model.default_split if split is None else split
    split = to_steps(split, step, name="split") if split else 0
    if not 0.0 <= margin <= MAX_MARGIN:
        raise ForecastError(f"{name}: margin must lie between 0 and {MAX_MARGIN}, not {margin!r}")
    if not 0.0 <= recent < float("inf"):
        raise ForecastError(f"{name}: recent must be a finite ratio >= 0, not {recent!r}")
    if split >= eval_horizon:
        raise ForecastError(
            f"{name}: split ({split} steps) must be shorter than eval_horizon ({eval_horizon})"
        )
    return memory, recent, split, margin


def checked_flag(name: str, field: str, value: Any) -> bool:
    """``value`` when it is a bool; otherwise ``ForecastError`` naming ``field`` (a
    string such as "no" would otherwise read as true)."""
    if not isinstance(value, bool):
        raise ForecastError(f"{name}: {field} must be true or false, not {value!r}")
    return value
