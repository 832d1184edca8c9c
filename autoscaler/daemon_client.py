"""Reading a running daemon's HTTP API for the ``status`` and ``explain`` commands.

Kept outside ``autoscaler.daemon`` so that these commands import only the stdlib.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from autoscaler.errors import UserError

DEFAULT_URL = "http://127.0.0.1:9723"


def fetch_json(base: str, path: str, *, ok_codes: tuple[int, ...] = (200,), timeout: float = 5):
    """GET ``base + path`` as JSON. Raises ``UserError`` with one line on any failure."""
    url = base.rstrip("/") + path
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return _decode(url, resp.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        if exc.code in ok_codes:
            return _decode(url, body)
        try:
            msg = json.loads(body).get("error", exc.reason)
        except ValueError:
            msg = exc.reason
        raise UserError(f"{url}: HTTP {exc.code}: {msg}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"cannot reach the daemon at {base}: {reason}") from None


def _decode(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise UserError(f"{url}: the answer is not JSON") from None
