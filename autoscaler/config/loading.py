"""Reading and validating a config file; every problem reported at once with its
``file:line``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from autoscaler.config.base import ConfigError, loc_to_path
from autoscaler.config.cross_checks import raw_reference_problems
from autoscaler.config.policies import POLICY_KINDS
from autoscaler.config.root import Config
from autoscaler.input_errors import InputError, printable
from autoscaler.input_files import MAX_CONFIG_BYTES, read_text_file
from autoscaler.safe_yaml import YamlInputError, compose_yaml, load_yaml

# ---------------------------------------------------------------- loading and errors


def _user_loc(loc: Iterable[Any]) -> tuple[Any, ...]:
    """Drop the tag that pydantic inserts after a discriminated union's index."""
    out: list[Any] = []
    for part in loc:
        if (
            len(out) >= 2
            and out[-2] == "policies"
            and isinstance(out[-1], int)
            and isinstance(part, str)
        ) and part in POLICY_KINDS:
            continue
        out.append(part)
    return tuple(out)


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _narrowed(
    loc: tuple[Any, ...], msg: str, lines: dict[tuple[Any, ...], int]
) -> tuple[tuple[Any, ...], str]:
    """A model's own check may name the field it is about ("forecaster.params: ..."):
    when the file sets that field's section, the error names its path and points at its
    line (or its nearest enclosing one, for a field left at its default)."""
    head, sep, rest = msg.partition(": ")
    # "policies.0.quantile": a digit is a list index
    parts = tuple(int(p) if p.isdigit() else p for p in head.split("."))
    named = all(isinstance(p, int) or p.isidentifier() for p in parts)
    if sep and named and (*loc, parts[0]) in lines:
        return (*loc, *parts), rest
    return loc, msg


def _yaml_lines(text: str, where: str) -> dict[tuple[Any, ...], int]:
    """Map every key/index path in a YAML document to its 1-based line number."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = compose_yaml(text, where)
    except YamlInputError:
        return lines

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                p = (*path, key.value)
                lines[p] = key.start_mark.line + 1
                walk(value, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def option_line(path: str | Path, dotted: str) -> int | None:
    """The line of option ``dotted`` (e.g. ``cloud.nova.placement``) in the YAML file at
    ``path``, or None when the file cannot be read or does not set it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return _yaml_lines(text, str(path)).get(tuple(dotted.split(".")))


def _format_errors(
    errors: list[Any],
    where: str,
    lines: dict[tuple[Any, ...], int],
    extra: list[tuple[tuple[Any, ...], str]] | None = None,
) -> list[str]:
    """One line per error, in the order they appear in the file."""
    out: list[tuple[int, str]] = []
    merged = [*errors, *({"loc": loc, "msg": msg, "type": "reference"} for loc, msg in extra or [])]
    for err in merged:
        loc, narrowed = _narrowed(_user_loc(err["loc"]), _clean_message(err["msg"]), lines)
        line = None
        for n in range(len(loc), -1, -1):
            if loc[:n] in lines:
                line = lines[loc[:n]]
                break
        prefix = f"{where}:{line}: " if line else f"{where}: "
        path = loc_to_path(loc)
        msg = narrowed
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_invalid":
            msg = (
                f"unknown policy kind {err.get('input', {}).get('kind')!r}"
                if isinstance(err.get("input"), dict)
                else msg
            )
        out.append((line or 0, printable(f"{prefix}{path + ': ' if path else ''}{msg}")))
    return [text for _, text in sorted(out, key=lambda e: e[0])]


def parse_config(data: Any, where: str = "<config>", text: str | None = None) -> Config:
    """Validate already-parsed YAML data. Raises ``ConfigError`` with every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{where}: the top level must be a mapping of sections"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        # Only an error needs the lines (parsing the file again: seconds at 1,000 groups).
        lines = _yaml_lines(text, where) if text else {}
        raw = raw_reference_problems(data)
        # The model's own reference check repeats ``raw`` at the top level; keep one copy.
        errors = [e for e in exc.errors() if not (e["loc"] == () and raw)]
        formatted = _format_errors(errors, where, lines, extra=raw)
        raise ConfigError(formatted) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file. Raises ``ConfigError`` (never a traceback).

    The file must be a regular UTF-8 file of at most ``MAX_CONFIG_BYTES``, one YAML
    document with no duplicate keys and bounded aliases, and not empty.
    """
    p = Path(path)
    try:
        text = read_text_file(p, what="config file", max_bytes=MAX_CONFIG_BYTES)
        data = load_yaml(text, str(p))
    except InputError as exc:
        raise ConfigError([str(exc)]) from None
    if data is None:
        raise ConfigError([f"{p}: empty config (expected a mapping of sections, e.g. groups:)"])
    return parse_config(data, str(p), text)
