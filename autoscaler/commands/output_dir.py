"""``--out DIR``: checked before any work, so that a bad folder fails fast and whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from autoscaler.errors import UserError


def prepare_output(out: str, names: Sequence[str]) -> Path:
    """The folder ``out``, created if missing, once it is known to take ``names``.

    Raises ``UserError`` (one line naming ``--out``) when the folder cannot be created
    or written, or when one of ``names`` already exists there as a directory. Nothing is
    written but the folder itself.
    """
    d = Path(out)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create the folder: {exc.strerror or exc}") from None
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
