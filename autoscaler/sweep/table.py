"""The sweep's results table as CSV and JSON (the same rows, in cell order)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"cells": list(rows)}, indent=1, sort_keys=False) + "\n"


def write_tables(rows: Sequence[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """``sweep.csv`` and ``sweep.json`` in ``out`` (created). Raises ``OSError``."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "sweep.csv", out / "sweep.json"
    csv_path.write_text(to_csv(rows))
    json_path.write_text(to_json(rows))
    return csv_path, json_path
