"""Reading a secret (a bearer token, a password) from a file or an environment variable.

Configs name where the secret is, never the secret itself. Nothing here logs a value.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from autoscaler.input_errors import InputError
from autoscaler.input_files import read_text_file


class SecretError(Exception):
    """A secret could not be read; the message names where it was looked for, not the value."""


MAX_SECRET_BYTES = 64 * 1024  # a token, a password or a key: never more


def read_secret(*, file: str | Path | None = None, env: str | None = None, what: str) -> str:
    """The secret from ``file`` (whitespace stripped) or the variable ``env``.

    Exactly one of ``file``/``env`` must be given. Raises ``SecretError`` when it is
    missing, empty, not a regular UTF-8 file (a device such as /dev/zero, a folder,
    binary content) or over 64 KiB.
    """
    if (file is None) == (env is None):
        raise SecretError(f"{what}: give exactly one of a file or an environment variable")
    if file is not None:
        try:
            value = read_text_file(file, what="secret file", max_bytes=MAX_SECRET_BYTES).strip()
        except InputError as exc:
            # the reason without the offending byte's value: it is part of the secret
            reason = re.sub(r" \(byte \d+ is 0x[0-9a-f]{2}\)", "", str(exc).split(": ", 1)[-1])
            raise SecretError(f"{what}: cannot read {file}: {reason}") from None
        if not value:
            raise SecretError(f"{what}: {file} is empty")
        return value
    value = os.environ.get(env or "", "").strip()
    if not value:
        raise SecretError(f"{what}: environment variable {env} is not set or empty")
    return value
