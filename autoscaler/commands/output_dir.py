"""``--out DIR``: checked before any work, so that a bad folder fails fast and whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
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
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break


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
