"""Deciding what a configuration reload (SIGHUP) may apply.

pydantic validates the whole file, so one broken group would reject everything. To
keep one group's mistake from freezing the others, a file that fails validation is
looked at group by group: if everything outside ``groups`` is valid, each group that
validates on its own takes its new settings, and each broken group keeps its previous
settings (or, if it is new, is left out). Anything else wrong (bad YAML, a broken
top-level section) rejects the reload and the old configuration stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autoscaler.config import Config, ConfigError, GroupConfig, load_config, parse_config
from autoscaler.input_errors import InputError, printable
from autoscaler.input_files import MAX_CONFIG_BYTES, read_text_file
from autoscaler.safe_yaml import load_yaml


@dataclass(frozen=True)
class ReloadPlan:
    """``config`` is what to run from now on, or None when the reload is rejected.

    ``errors`` are the validator's lines (file:line: path: message); ``broken`` maps a
    group name (or ``groups[i]`` when it has none) to what happened to it.
    """

    config: Config | None
    errors: tuple[str, ...] = ()
    broken: dict[str, str] = field(default_factory=dict)


def plan_reload(path: str | Path, old: Config) -> ReloadPlan:
    """Validate ``path`` against the running config ``old``. Never raises."""
    try:
        new = load_config(path)
    except ConfigError as exc:
        errors = tuple(exc.errors)
    else:
        if not new.groups:
            # A config that drops every group is far more likely a mistake (a truncated
            # file, a wrong path) than a wish to stop scaling: keep what runs.
            return ReloadPlan(None, (f"{path}: no groups; keeping the running configuration",))
        return ReloadPlan(new)
    try:
        text = read_text_file(path, what="config file", max_bytes=MAX_CONFIG_BYTES)
        data = load_yaml(text, str(path))
    except InputError:
        return ReloadPlan(None, errors)
    if not isinstance(data, dict) or not isinstance(data.get("groups", []), list):
        return ReloadPlan(None, errors)
    raw_groups: list[Any] = data.get("groups") or []
    try:
        base = parse_config({**data, "groups": []})
    except ConfigError:
        return ReloadPlan(None, errors)

    kept: list[GroupConfig] = []
    broken: dict[str, str] = {}
    for i, raw in enumerate(raw_groups):
        try:
            kept.extend(parse_config({**data, "groups": [raw]}).groups)
            continue
        except ConfigError:
            pass
        name = raw.get("name") if isinstance(raw, dict) else None
        previous = _find(old, name)
        if previous is not None:
            kept.append(previous)
            broken[str(name)] = "invalid in the new file; keeps its previous configuration"
        else:
            broken[str(name or f"groups[{i}]")] = "invalid in the new file; not started"
    names = [g.name for g in kept]
    if len(set(names)) != len(names):
        return ReloadPlan(None, errors)
    return ReloadPlan(base.model_copy(update={"groups": kept}), errors, broken)


def _find(cfg: Config, name: object) -> GroupConfig | None:
    if not isinstance(name, str):
        return None
    try:
        return cfg.group(name)
    except KeyError:
        return None


def reload_notice(outcome: str, at: datetime, errors: tuple[str, ...]) -> str:
    """The one line /readyz shows after a reload that was ``rejected`` (nothing
    applied) or ``partial`` (broken groups kept their previous settings)."""
    first = errors[0] if errors else "invalid configuration"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    kept = (
        "running the previous configuration"
        if outcome == "rejected"
        else "the broken groups keep their previous configuration"
    )
    stamp = at.isoformat(timespec="seconds")
    return printable(f"config reload {outcome} at {stamp}: {first}{more}; {kept}")
