"""bench/genai_identity.py: summaries compared without their timing fields."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_PATH = Path(__file__).resolve().parents[3] / "bench" / "genai_identity.py"
_SPEC = importlib.util.spec_from_file_location("genai_identity", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
identity = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(identity)


def _row(gpu_hours: float, cpu: float) -> dict:
    return {"gpu_hours": gpu_hours, "cold_starts": 7, "cpu_seconds": cpu, "wall_seconds": cpu}


def _write(folder: Path, rows: dict) -> None:
    folder.mkdir()
    doc = {"trace": {"requests": 3}, "policies": rows}
    (folder / "summary-20x.json").write_text(json.dumps(doc))


def test_timing_fields_are_ignored_and_any_other_difference_names_its_policy(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "a", {"kpa": _row(1.5, 2.0), "qos": _row(9.0, 30.0)})
    _write(tmp_path / "b", {"kpa": _row(1.5, 0.4), "qos": _row(9.0, 5.0)})
    _write(tmp_path / "c", {"kpa": _row(1.5, 0.4), "qos": _row(9.001, 5.0)})
    assert identity.compare(tmp_path / "a", tmp_path / "b") == [
        "summary-20x.json: identical (kpa, qos)"
    ]
    assert identity.compare(tmp_path / "a", tmp_path / "c") == ["summary-20x.json: DIFFERS (qos)"]


def test_a_missing_summary_is_reported(tmp_path: Path) -> None:
    _write(tmp_path / "a", {"kpa": _row(1.5, 2.0)})
    (tmp_path / "b").mkdir()
    assert identity.compare(tmp_path / "a", tmp_path / "b")[0].endswith(
        "missing in " + str(tmp_path / "b")
    )
