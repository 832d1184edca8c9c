"""``--out``: a command's files land whole or not at all (``staged_output``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.commands.output_dir import staged_output


def test_the_files_replace_their_namesakes_and_leave_the_others(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("old")
    (tmp_path / "notes.txt").write_text("mine")
    with staged_output(tmp_path) as stage:
        assert stage.parent == tmp_path and not (tmp_path / "plot.png").exists()
        (stage / "summary.json").write_text("new")
        (stage / "plot.png").write_bytes(b"png")
    assert (tmp_path / "summary.json").read_text() == "new"
    assert (tmp_path / "plot.png").read_bytes() == b"png"
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "plot.png", "summary.json"]


def test_a_write_failing_halfway_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("old")
    with pytest.raises(OSError, match="disk full"), staged_output(tmp_path) as stage:
        (stage / "summary.json").write_text("new")
        raise OSError(28, "disk full")  # the plot, after the summary was written
    assert (tmp_path / "summary.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_failure_removes_the_folders_it_made(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    with pytest.raises(ValueError, match="plot"), staged_output(out) as stage:
        (stage / "summary.json").write_text("new")
        raise ValueError("the plot raised")
    assert not (tmp_path / "a").exists()
