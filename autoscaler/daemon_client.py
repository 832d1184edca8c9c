"""Reading a running daemon's HTTP API for the ``status`` and ``explain`` commands.

Kept outside ``autoscaler.daemon`` so that these commands import only the stdlib.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from autoscaler.errors import UserError

DEFAULT_URL = "http://127.0.0.1:9723"


def check_url(base: str) -> str:
    """``base`` when it is an http(s) URL with a host; raises ``UserError`` naming
    ``--url`` otherwise (a ``file:`` or ``ftp:`` URL would read what is not a daemon)."""
    try:
        parts = urllib.parse.urlsplit(base)
        port = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise UserError(f"--url {base!r}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--url {base!r}: must be an http:// or https:// URL with a host")
    del port
    return base


@contextmanager
def expect_shape(url: str) -> Iterator[None]:
    """Turn a daemon answer of the wrong shape (a missing key, a list for a mapping) met
    while reading it into one ``UserError`` line naming ``url``."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise UserError(
            f"{url}: the answer does not look like the autoscaler's API "
            f"({type(exc).__name__}: {exc}); is --url the daemon?"
        ) from None


def fetch_json(base: str, path: str, *, ok_codes: tuple[int, ...] = (200,), timeout: float = 5):
    """GET ``base + path`` as JSON. Raises ``UserError`` with one line on any failure."""
    url = check_url(base).rstrip("/") + path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return _decode(url, resp.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        if exc.code in ok_codes:
            return _decode(url, body)
        try:
            answer = json.loads(body)
            msg = answer.get("error", exc.reason) if isinstance(answer, dict) else exc.reason
        except ValueError:
            msg = exc.reason
        raise UserError(f"{url}: HTTP {exc.code}: {msg}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"cannot reach the daemon at {base}: {reason}") from None


def _decode(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise UserError(f"{url}: the answer is not JSON") from None
