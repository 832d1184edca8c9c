"""Fitting an ensemble's members: each one built and fitted on its own, a failure noted.

``fit_members`` returns the members that could be fitted and one line per member that
could not (``kind: first line of the error``); it never raises for a member's failure,
so the ensemble decides what an empty result means."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

import pandas as pd


def fit_members(
    build: Callable[..., Any],
    kinds: Iterable[str],
    step: timedelta,
    params: Mapping[str, Mapping[str, Any]],
    seed: int,
    y: pd.Series,
) -> tuple[dict[str, Any], list[str]]:
    """``(models, failures)``: every kind in ``kinds`` built with ``params[kind]`` and
    fitted on ``y``; a kind whose build or fit raises is left out and noted."""
    models: dict[str, Any] = {}
    failures: list[str] = []
    for kind in kinds:
        try:
            models[kind] = build(kind, step, seed=seed, **params.get(kind, {})).fit(y)
        except Exception as exc:  # a member that fails is left out, not fatal
            failures.append(f"{kind}: {first_line(exc)}")
    return models, failures


def first_line(exc: BaseException) -> str:
    """The error's first line, or its type's name when it has no text."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
