"""Reading a secret (a bearer token, a password) from a file or an environment variable.

Configs name where the secret is, never the secret itself. Nothing here logs a value.
"""

from __future__ import annotations

import os
from pathlib import Path


class SecretError(Exception):
    """A secret could not be read; the message names where it was looked for, not the value."""


def read_secret(*, file: str | Path | None = None, env: str | None = None, what: str) -> str:
    """The secret from ``file`` (whitespace stripped) or the variable ``env``.

    Exactly one of ``file``/``env`` must be given. Raises ``SecretError`` when it is
    missing or empty.
    """
    if (file is None) == (env is None):
        raise SecretError(f"{what}: give exactly one of a file or an environment variable")
    if file is not None:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{what}: cannot read {file}: {exc.strerror or exc}") from None
        if not value:
            raise SecretError(f"{what}: {file} is empty")
        return value
    value = os.environ.get(env or "", "").strip()
    if not value:
        raise SecretError(f"{what}: environment variable {env} is not set or empty")
    return value
