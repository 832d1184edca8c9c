"""The HTTP front shared by the fake OpenStack services: a threaded server on 127.0.0.1,
token checks against the real Keystone, fault injection, and a request log.

A service mixin implements ``_<service>(method, rest, query, body, headers)``; the
composition (``tests.fakes.openstack_fake.FakeOpenStack``) maps path prefixes to them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A token check: Keystone's token body when it accepts the token, else None (or a bool).
TokenCheck = Callable[[str], Mapping[str, Any] | bool | None]
Handler = Callable[[str, str, dict[str, list[str]], Any, Any], "Reply"]


@dataclass
class Fault:
    """What to do to the next ``times`` requests matching ``method`` and ``path`` (a regex)."""

    method: str
    path: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    reset_before: bool = False  # drop the connection; the call has no effect
    reset_after: bool = False  # carry out the call, then drop the connection unanswered
    times: int = 1
    skip: int = 0  # let this many matching requests through first


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {kind: {"code": status, "message": message}})


class FakeHttp:
    """The server, the token cache, faults and the log; ``url`` is the base URL."""

    def __init__(self, validate_token: TokenCheck) -> None:
        self._validate = validate_token
        self._roles: dict[str, frozenset[str]] = {}  # accepted token -> its role names
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        self.tokens_seen: list[str] = []
        self.microversions: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ test controls

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def _reset_http(self) -> None:
        self.faults.clear()
        self.log.clear()
        self.tokens_seen.clear()
        self.microversions.clear()

    def forget_tokens(self) -> None:
        """Re-check every token with Keystone from now on (after a revocation)."""
        with self.lock:
            self._roles.clear()

    def calls(self, method: str, pattern: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.log if m == method and re.search(pattern, p))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ for the services

    def _services(self) -> dict[str, Handler]:
        """Path prefix -> handler; the composition provides it."""
        raise NotImplementedError

    def _versions(self, service: str, rest: str) -> Reply:
        """The unauthenticated version document of ``service``."""
        raise NotImplementedError

    def roles(self, headers: Any) -> frozenset[str]:
        """The role names of the (already accepted) token in ``headers``."""
        with self.lock:
            return self._roles.get(headers.get("X-Auth-Token") or "", frozenset())

    # ------------------------------------------------------------------ HTTP plumbing

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                path, query = split.path, parse_qs(split.query)
                fault = fake._take_fault(self.command, path)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.reset_before:
                    self._drop()
                    return
                if fault and fault.status is not None:
                    reply = Reply(fault.status, fault.body, dict(fault.headers))
                else:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        body = None
                    reply = fake._dispatch(self.command, path, query, body, self.headers)
                with fake.lock:
                    fake.log.append((self.command, path, reply.status))
                if fault and fault.reset_after:
                    self._drop()
                    return
                self._send(reply)

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.shutdown(2)

            def _send(self, reply: Reply) -> None:
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.method == method and re.search(f.path, path):
                    if f.skip > 0:
                        f.skip -= 1
                        return None
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def _authorized(self, headers: Any) -> bool:
        token = headers.get("X-Auth-Token") or ""
        with self.lock:
            self.tokens_seen.append(token)
            if token in self._roles:
                return True
        info = self._validate(token) if token else None
        if not info:
            return False
        roles = info.get("roles", []) if isinstance(info, Mapping) else []
        with self.lock:
            self._roles[token] = frozenset(str(r.get("name")) for r in roles)
        return True

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any
    ) -> Reply:
        service, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        handlers = self._services()
        if service not in handlers:
            return error(404, "itemNotFound", f"no service at {path}")
        if rest.rstrip("/") in ("", "/v2.1", "/v1", "/v2.0") and method == "GET":
            return self._versions(service, rest.rstrip("/"))
        if not self._authorized(headers):
            return Reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                         "message": "The request you have made requires "
                                         "authentication."}},
                         {"WWW-Authenticate": f"Keystone uri='{self.url}'"})  # fmt: skip
        with self.lock:
            return handlers[service](method, rest, query, body, headers)
