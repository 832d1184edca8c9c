"""Reading a user's file safely: bounded in size, a regular file, text in UTF-8.

Every input surface (config, traces, fleet files, VM folders) reads through
``read_text_file``, so that ``/dev/zero``, a directory, a 40 GB file, UTF-16 or binary
content each give one clear line instead of a hang, a memory blow-up or a traceback.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from autoscaler.input_errors import InputError

# Limits, documented in README's "Input limits": generous for real use, far from harm.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_TRACE_BYTES = 1024 * 1024 * 1024


class InputFileError(InputError):
    """A file cannot be used as input; the message names it and says why."""


def read_text_file(path: str | Path, *, what: str, max_bytes: int) -> str:
    """The text of ``path``, decoded as UTF-8 (a UTF-8 byte-order mark is dropped).

    Raises ``InputFileError`` when it does not exist, is not a regular file (a
    directory, a device such as /dev/zero, a pipe), is larger than ``max_bytes``, or is
    not UTF-8 text (UTF-16 and binary content are named as such).
    """
    return decode_text(read_file_bytes(path, what=what, max_bytes=max_bytes), path, what)


def read_file_bytes(path: str | Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of ``path``; raises ``InputFileError`` as ``read_text_file`` does for a
    missing, unreadable, non-regular or too large file."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputFileError(f"{p}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(f"{p}: is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(f"{p}: not a regular file (a device or a pipe), not a {what}")
    if st.st_size > max_bytes:
        raise InputFileError(
            f"{p}: {st.st_size:,} bytes is larger than a {what} may be ({max_bytes:,} bytes)"
        )
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # it grew while we looked
        raise InputFileError(f"{p}: larger than a {what} may be ({max_bytes:,} bytes)")
    return data


def decode_text(data: bytes, where: str | Path, what: str) -> str:
    """``data`` as UTF-8 text; raises ``InputFileError`` naming UTF-16 or binary content."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{where}: is UTF-16 text; save the {what} as UTF-8")
    if b"\x00" in data:
        raise InputFileError(f"{where}: binary content (NUL bytes), not a {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{where}: not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); "
            f"save the {what} as UTF-8"
        ) from None
    return text.removeprefix("\ufeff")
