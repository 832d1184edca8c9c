"""The operator's files that ship inside the package: example configs and Heat templates
(``etc/``), the Grafana dashboard and Prometheus alerts, the systemd unit and the docs.

``pyproject.toml`` maps the repository's ``etc/``, ``systemd/`` and ``docs/`` folders to
``autoscaler.etc``, ``autoscaler.systemd`` and ``autoscaler.docs`` as package data, so a
plain ``pip install`` carries them; ``write_operator_files`` lays them out again under
a directory, in the repository's layout, for the install steps of ``docs/daemon.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

FOLDERS = {"etc": "autoscaler.etc", "systemd": "autoscaler.systemd", "docs": "autoscaler.docs"}
SUFFIXES = (".yaml", ".json", ".service", ".md")


class InitError(Exception):
    """The files cannot be written; one line for the user."""


def _walk(node: Traversable, prefix: PurePosixPath) -> Iterator[tuple[PurePosixPath, bytes]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _walk(child, prefix / child.name)
        elif child.name.endswith(SUFFIXES):
            yield prefix / child.name, child.read_bytes()


def operator_files() -> list[tuple[PurePosixPath, bytes]]:
    """(relative path, content) of every shipped operator file."""
    out = []
    for folder, package in FOLDERS.items():
        out += list(_walk(resources.files(package), PurePosixPath(folder)))
    return out


def write_operator_files(dest: Path, *, force: bool = False) -> list[Path]:
    """Write every file under ``dest``. Without ``force`` nothing is written when any
    of them exists already. Raises ``InitError``."""
    files = operator_files()
    if not force:
        clashes = [str(dest / rel) for rel, _ in files if (dest / rel).exists()]
        if clashes:
            more = f" and {len(clashes) - 1} more" if len(clashes) > 1 else ""
            raise InitError(f"{clashes[0]}{more} already exist(s); pass --force to overwrite")
    written = []
    try:
        for rel, content in files:
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(path)
    except OSError as exc:
        raise InitError(f"{dest}: {exc.strerror or exc}") from None
    return written
