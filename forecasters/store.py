"""A versioned on-disk store of fitted forecasters.

Layout under ``root``::

    <name>/v000001/model.pkl      the forecaster (a pickle read by a restricted loader)
    <name>/v000001/meta.json      kind, params, trained range, library versions, sha256
    <name>/CURRENT                the version in use ("v000001")

A save writes a new version into a temporary directory, renames it into place, then
replaces ``CURRENT`` with ``os.replace``: readers see the old model or the new one,
never half of one. Loading checks, before unpickling anything, that the format and
the library versions match and that the payload's checksum is the recorded one, and
refuses files writable by other users. A checksum is no signature, so the payload is
then read by ``restricted_pickle.load_model``, which imports nothing but the pieces our
models are made of and returns only our model types: a tampered file is an error,
never code run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoscaler.forecasters.restricted_pickle import dump_model, load_model
from autoscaler.input_errors import InputError
from autoscaler.input_files import read_file_bytes, read_text_file
from autoscaler.model import ForecastError
from autoscaler.private_files import private_dir, write_private

FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_VERSION = re.compile(r"^v(\d{6})$")
MAX_META_BYTES = 1024 * 1024
MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024


class ModelStoreError(ForecastError):
    """The store cannot save or load a model; the message says which file and why."""


def library_versions(include_torch: bool) -> dict[str, str]:
    """Versions of the libraries whose objects end up in a pickle."""
    import numpy
    import pandas

    versions = {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
    }
    if "statsmodels" in sys.modules:
        versions["statsmodels"] = sys.modules["statsmodels"].__version__
    if include_torch:
        import torch

        versions["torch"] = torch.__version__.split("+")[0]
    return versions


@dataclass(frozen=True)
class ModelMeta:
    """What ``meta.json`` records about one saved model."""

    name: str
    version: str
    kind: str
    params: dict[str, Any]
    trained_from: str | None
    trained_to: str | None
    libraries: dict[str, str]
    sha256: str
    format_version: int = FORMAT_VERSION


def _uses_torch(model: Any) -> bool:
    stack, seen = [model], set()
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        if type(m).__module__.endswith(".neural"):
            return True
        stack.extend(getattr(m, "models", {}).values())
        for attr in ("primary", "active"):
            if getattr(m, attr, None) is not None:
                stack.append(getattr(m, attr))
    return False


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=str))


class ModelStore:
    """Saves and loads fitted forecasters under ``root`` (created on first save)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ModelStoreError(f"invalid model name {name!r} (letters, digits, _ . - only)")
        return self.root / name

    def versions(self, name: str) -> list[str]:
        d = self._dir(name)
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if _VERSION.match(p.name) and p.is_dir())

    def current(self, name: str) -> str | None:
        pointer = self._dir(name) / "CURRENT"
        if not pointer.exists() and not pointer.is_symlink():
            return None
        try:
            return read_text_file(pointer, what="version pointer", max_bytes=64).strip() or None
        except InputError as exc:
            raise ModelStoreError(f"unreadable: {exc}") from None

    def save(self, name: str, model: Any, *, trained: tuple[Any, Any] | None = None) -> ModelMeta:
        """Save ``model`` as a new version of ``name`` and make it current. ``trained``
        (first, last timestamp) overrides the model's own ``trained_range``."""
        d = self._dir(name)
        try:
            private_dir(self.root)
            private_dir(d)
            existing = self.versions(name)
        except OSError as exc:
            raise ModelStoreError(f"{d}: cannot create the model directory: {exc}") from None
        number = int(_VERSION.match(existing[-1]).group(1)) + 1 if existing else 1  # type: ignore[union-attr]
        version = f"v{number:06d}"
        try:
            payload = dump_model(model)
        except ForecastError as exc:
            raise ModelStoreError(f"{name}: cannot save: {exc}") from None
        trained = trained or getattr(model, "trained_range", None)
        if trained is None and getattr(model, "active", None) is not None:
            trained = model.active.trained_range
        meta = ModelMeta(
            name=name,
            version=version,
            kind=getattr(model, "name", type(model).__name__),
            params=_jsonable(getattr(getattr(model, "primary", model), "params", {})),
            trained_from=str(trained[0]) if trained else None,
            trained_to=str(trained[1]) if trained else None,
            libraries=library_versions(_uses_torch(model)),
            sha256=hashlib.sha256(payload).hexdigest(),
        )
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=d))
        except OSError as exc:
            raise ModelStoreError(f"{d}: cannot save: {exc}") from None
        try:
            write_private(tmp / "model.pkl", payload)
            write_private(tmp / "meta.json", json.dumps(meta.__dict__, indent=2).encode())
            os.replace(tmp, d / version)
        except OSError as exc:
            for f in tmp.glob("*"):
                f.unlink()
            tmp.rmdir()
            raise ModelStoreError(f"{d / version}: cannot save: {exc}") from None
        pointer = d / f".CURRENT.{os.getpid()}"
        try:
            write_private(pointer, (version + "\n").encode())
            os.replace(pointer, d / "CURRENT")
        except OSError as exc:
            raise ModelStoreError(f"{d / 'CURRENT'}: cannot update: {exc}") from None
        return meta

    def meta(self, name: str, version: str | None = None) -> ModelMeta:
        """The metadata of ``version`` (default: current). Raises ``ModelStoreError``."""
        version = version or self.current(name)
        if version is None:
            raise ModelStoreError(f"{self._dir(name)}: no saved model")
        if not _VERSION.match(version):
            raise ModelStoreError(f"invalid version {version!r}")
        path = self._dir(name) / version / "meta.json"
        if not path.exists():
            raise ModelStoreError(f"{path}: no such model version")
        try:
            raw = json.loads(read_text_file(path, what="model metadata", max_bytes=MAX_META_BYTES))
        except InputError as exc:
            raise ModelStoreError(f"unreadable metadata: {exc}") from None
        except (ValueError, RecursionError) as exc:
            raise ModelStoreError(f"{path}: unreadable metadata: {exc}") from None
        if not isinstance(raw, dict):
            raise ModelStoreError(f"{path}: malformed metadata: not a JSON object")
        if raw.get("format_version") != FORMAT_VERSION:
            raise ModelStoreError(
                f"{path}: saved in store format {raw.get('format_version')!r}, this version reads "
                f"format {FORMAT_VERSION}; refit the model"
            )
        try:
            meta = ModelMeta(**raw)
        except TypeError as exc:
            raise ModelStoreError(f"{path}: malformed metadata: {exc}") from None
        problem = _meta_problem(meta, version)
        if problem:
            raise ModelStoreError(f"{path}: malformed metadata: {problem}")
        return meta

    def load(self, name: str, version: str | None = None) -> tuple[Any, ModelMeta]:
        """The fitted model and its metadata. Raises ``ModelStoreError`` on any mismatch."""
        meta = self.meta(name, version)
        path = self._dir(name) / meta.version / "model.pkl"
        try:
            now = library_versions("torch" in meta.libraries)
        except ImportError as exc:
            raise ModelStoreError(f"{path}: saved with torch, not importable here: {exc}") from None
        diff = [f"{k} {v} (now {now.get(k)})" for k, v in meta.libraries.items() if now.get(k) != v]
        if diff:
            raise ModelStoreError(
                f"{path}: saved with {', '.join(diff)}; refit the model with the installed libraries"
            )
        try:
            st = path.stat()
            if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_uid != os.getuid():
                raise ModelStoreError(
                    f"{path}: writable by others or not ours; refusing to unpickle it"
                )
            payload = read_file_bytes(path, what="stored model", max_bytes=MAX_MODEL_BYTES)
        except FileNotFoundError:
            raise ModelStoreError(f"{path}: missing") from None
        except OSError as exc:
            raise ModelStoreError(f"{path}: unreadable: {exc}") from None
        except InputError as exc:
            raise ModelStoreError(str(exc)) from None
        if hashlib.sha256(payload).hexdigest() != meta.sha256:
            raise ModelStoreError(
                f"{path}: checksum does not match its metadata; refusing to load it"
            )
        try:
            model = load_model(payload)
        except ForecastError as exc:
            raise ModelStoreError(f"{path}: {exc}") from None
        return model, meta


def _meta_problem(meta: ModelMeta, version: str) -> str:
    """What is wrong with the fields' types (empty when nothing)."""
    if meta.version != version:
        return f"version {meta.version!r} in the directory of {version}"
    if not isinstance(meta.sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", meta.sha256):
        return "sha256 is not a SHA-256 hex digest"
    if not isinstance(meta.params, dict) or not isinstance(meta.kind, str):
        return "params must be an object and kind a string"
    libs = meta.libraries
    if not isinstance(libs, dict) or not all(isinstance(v, str) for v in libs.values()):
        return "libraries must map names to version strings"
    for field in (meta.trained_from, meta.trained_to):
        if field is not None and not isinstance(field, str):
            return "trained_from/trained_to must be strings"
    return ""
