"""Files and folders the daemon keeps (state database, model store, lock): owner only.

Whatever the umask, a folder made or opened here is 0700 and a file 0600: the audit
log, the models and the lock holder's record are nobody else's to read. Folders that
exist already are tightened when we own them (a folder of someone else's is left as it
is: the daemon does not take over another user's directory).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; tighten it to 0700 when it
    exists and is ours. Raises ``OSError`` when it cannot be created."""
    p = Path(path)
    missing = []
    for parent in (p, *p.parents):
        if parent.exists():
            break
        missing.append(parent)
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            d.mkdir(mode=DIR_MODE)
    p.mkdir(mode=DIR_MODE, exist_ok=True)  # raises when a file stands in the way
    for d in (p, *missing):
        _tighten(d, DIR_MODE)
    return p


def open_private(path: str | Path, flags: int = os.O_RDWR | os.O_CREAT) -> int:
    """``os.open`` of ``path`` that leaves it 0600 (created so, or tightened when ours)."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def touch_private(path: str | Path) -> None:
    """Make ``path`` exist as a 0600 file (an existing one of ours is tightened)."""
    os.close(open_private(path, os.O_RDONLY | os.O_CREAT))


def write_private(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (created 0600, truncated if it exists)."""
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _tighten(path: Path, mode: int) -> None:
    st = path.stat()
    if st.st_uid == os.getuid() and st.st_mode & 0o777 != mode:
        os.chmod(path, mode)
