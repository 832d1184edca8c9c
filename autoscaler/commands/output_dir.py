"""``--out DIR``: checked before any work, so that a bad folder fails fast and whole, and
written whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from autoscaler.errors import UserError


def prepare_output(out: str, names: Sequence[str]) -> Path:
    """The folder ``out``, once it is known that it can be created and take ``names``.

    Raises ``UserError`` (one line naming ``--out``) when the folder cannot be created
    or written, or when one of ``names`` already exists there as a directory. Nothing is
    left behind: the folders this check had to create are removed again (a command that
    then fails on its input left an empty ``--out`` folder), so the writer creates the
    folder (``mkdir(parents=True, exist_ok=True)``) when it writes.
    """
    d = Path(out)
    created = [a for a in (d, *d.parents) if not a.exists()]
    try:
        d.mkdir(parents=True, exist_ok=True)
        return _probe(out, d, names)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create the folder: {exc.strerror or exc}") from None
    finally:
        _remove_made(created)


def _probe(out: str, d: Path, names: Sequence[str]) -> Path:
    """``d`` is a folder that takes ``names`` and a new file (raises ``UserError``)."""
    if not d.is_dir():
        raise UserError(f"--out {out}: not a folder")
    for name in names:
        if (d / name).is_dir():
            raise UserError(f"--out {out}: {name} is a directory; it would be overwritten")
    try:
        fd, probe = tempfile.mkstemp(dir=d, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write there: {exc.strerror or exc}") from None
    return d


@contextmanager
def staged_output(d: Path) -> Iterator[Path]:
    """A fresh folder inside ``d`` to write a command's files into. When the block ends
    normally each file replaces its namesake in ``d`` by a rename (atomic per file);
    when it raises, the files are dropped and the folders made for ``d`` removed, so a
    write that fails halfway (a full disk, a plot that raises) leaves ``d`` as it was
    instead of some files new and some old. Raises ``OSError`` as the writes do."""
    created = [a for a in (d, *d.parents) if not a.exists()]
    d.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=d, prefix=".staging-"))
    done = False
    try:
        yield stage
        for f in sorted(stage.iterdir()):
            os.replace(f, d / f.name)
        done = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not done:
            _remove_made(created)


def _remove_made(created: Sequence[Path]) -> None:
    """Remove the folders made for ``--out`` (``created``, deepest first) while empty."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            break


@contextmanager
def written_output(out: str | Path) -> Iterator[Path]:
    """``staged_output(out)`` with its write errors as one line naming ``--out``
    (``UserError``)."""
    try:
        with staged_output(Path(out)) as stage:
            yield stage
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
