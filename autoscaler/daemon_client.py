"""Talking to a running daemon's HTTP API for ``status``, ``explain``, ``pause``, ``resume``.

Kept outside ``autoscaler.daemon`` so that these commands import only the stdlib and
click. ``client_options`` gives a command ``--url``, ``--token-file`` and ``--ca-file``
(also from ``$AUTOSCALER_URL``, ``$AUTOSCALER_TOKEN_FILE``, ``$AUTOSCALER_CA_FILE``) and
passes it a ``DaemonClient``.
"""

from __future__ import annotations

import functools
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from autoscaler.errors import UserError

DEFAULT_URL = "http://127.0.0.1:9723"


def check_url(base: str) -> str:
    """``base`` when it is an http(s) URL with a host; raises ``UserError`` naming
    ``--url`` otherwise (a ``file:`` or ``ftp:`` URL would read what is not a daemon;
    spaces and control characters are no part of a URL)."""
    if any(c.isspace() or not c.isprintable() for c in base):
        shown = "".join(c if c.isprintable() and not c.isspace() else repr(c)[1:-1] for c in base)
        raise UserError(f"--url {shown!r}: contains spaces or control characters")
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


@dataclass(frozen=True)
class DaemonClient:
    """The daemon at ``url``; ``token`` is sent as a bearer token, ``ca_file`` verifies
    its TLS certificate (else the system's trust store does)."""

    url: str = DEFAULT_URL
    token: str | None = None
    ca_file: str | None = None

    def get(self, path: str, *, ok_codes: tuple[int, ...] = (200,)) -> Any:
        """GET ``path`` as JSON. Raises ``UserError`` with one line on any failure."""
        return self._call("GET", path, None, ok_codes)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json.dumps(body).encode(), (200,))

    def _call(self, method: str, path: str, data: bytes | None, ok_codes: tuple[int, ...]) -> Any:
        url = check_url(self.url).rstrip("/") + path
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        context = self._tls_context() if url.startswith("https") else None
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as resp:
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
            hint = " (give --token-file)" if exc.code == 401 and not self.token else ""
            raise UserError(f"{url}: HTTP {exc.code}: {msg}{hint}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UserError(f"cannot reach the daemon at {self.url}: {reason}") from None

    def _tls_context(self) -> ssl.SSLContext:
        """The context verifying the daemon (against ``ca_file`` when given). Raises
        ``UserError`` naming ``--ca-file`` for a file that is not a readable PEM CA."""
        if self.ca_file is None:
            return ssl.create_default_context()
        from autoscaler.input_errors import InputError
        from autoscaler.input_files import read_text_file

        try:
            pem = read_text_file(self.ca_file, what="CA certificate", max_bytes=1024 * 1024)
            return ssl.create_default_context(cadata=pem)
        except InputError as exc:
            raise UserError(f"--ca-file: {exc}") from None
        except (ssl.SSLError, ValueError) as exc:
            raise UserError(
                f"--ca-file: {self.ca_file}: not a PEM CA certificate ({exc})"
            ) from None


def _decode(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise UserError(f"{url}: the answer is not JSON") from None


def _read_token(path: str | None) -> str | None:
    from autoscaler.adapters.secrets import SecretError, read_secret

    if path is None:
        return None
    try:
        return read_secret(file=path, what="--token-file").split()[0]
    except SecretError as exc:
        raise UserError(str(exc)) from None


def client_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``--url``, ``--token-file``, ``--ca-file``; the command gets ``client``."""

    @click.option(
        "--url", default=DEFAULT_URL, envvar="AUTOSCALER_URL", show_default=True, help="Daemon URL."
    )
    @click.option(
        "--token-file",
        envvar="AUTOSCALER_TOKEN_FILE",
        default=None,
        help="File whose first line is a bearer token the daemon accepts.",
    )
    @click.option(
        "--ca-file",
        envvar="AUTOSCALER_CA_FILE",
        default=None,
        help="CA certificate to verify an https daemon with.",
    )
    @functools.wraps(command)
    def wrapper(url: str, token_file: str | None, ca_file: str | None, **kw: Any) -> Any:
        return command(client=DaemonClient(url, _read_token(token_file), ca_file), **kw)

    return wrapper
