"""What each request to the daemon's API gets: authentication first, then the route.

GET ``/metrics`` (see ``exposition``), ``/healthz`` (alive; never authenticated, so a
liveness probe needs no secret), ``/readyz`` (503 with reasons when not ready;
``notices`` lists what is wrong without making it not ready: a rejected reload),
``/v1/groups``, ``/v1/groups/<name>``, ``/v1/groups/<name>/decisions?last=N``,
``/v1/groups/<name>/plan`` (the latest rebalance plan); POST
``/v1/groups/<name>/pause`` (optional JSON body ``{"reason": "..."}``) and
``/v1/groups/<name>/resume``. When credentials are configured every other route needs
one, and a refused request changes nothing. A POST that carries an ``Origin`` header
(a browser page) is refused: no web page may pause a group.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from autoscaler.daemon.api_security import ApiSecurity
from autoscaler.daemon.exposition import render_metrics
from autoscaler.interfaces import DaemonView

MAX_DECISIONS = 1000
MAX_BODY = 4096


@dataclass(frozen=True)
class Reply:
    code: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(code: int, body: Any, *headers: tuple[str, str]) -> Reply:
    return Reply(code, json.dumps(body, default=str).encode(), "application/json", headers)


class Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests; the server carries ``view``, ``registry``
    and ``security``."""

    protocol_version = "HTTP/1.1"
    timeout = 10.0  # one read waiting longer ends the connection (the server's deadline is tighter)

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self.server.rearm(self.connection)  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _answer(self, route: Callable[[list[str], dict[str, list[str]]], Reply]) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        security: ApiSecurity = self.server.security  # type: ignore[attr-defined]
        if parts != ["healthz"] and not security.allows(self.headers.get("Authorization")):
            self._drain()
            reply = json_reply(
                401,
                {"error": "authentication required"},
                ("WWW-Authenticate", 'Bearer realm="autoscaler"'),
            )
        else:
            try:
                reply = route(parts, parse_qs(url.query))
            except Exception as exc:  # a failing view must answer 500, not kill the thread
                reply = json_reply(500, {"error": f"{type(exc).__name__}: {exc}"})
        self._send(reply)

    def _get(self, parts: list[str], query: dict[str, list[str]]) -> Reply:
        view: DaemonView = self.server.view  # type: ignore[attr-defined]
        if parts == ["metrics"]:
            m = render_metrics(
                self.server.registry,  # type: ignore[attr-defined]
                self.headers.get("Accept", ""),
                self.headers.get("Accept-Encoding", ""),
            )
            extra = (("Content-Encoding", m.content_encoding),) if m.content_encoding else ()
            return Reply(200, m.body, m.content_type, (*extra, ("Vary", "Accept-Encoding")))
        if parts == ["healthz"]:
            return json_reply(200, {"status": "alive"})
        if parts == ["readyz"]:
            ok, reasons = view.readiness()
            body = {"ready": ok, "reasons": reasons, "notices": view.notices()}
            return json_reply(200 if ok else 503, body)
        if parts == ["v1", "groups"]:
            return json_reply(200, {"groups": view.groups_view()})
        if len(parts) == 3 and parts[:2] == ["v1", "groups"]:
            g = view.group_view(parts[2])
            return json_reply(200, g) if g is not None else _no_group(parts[2])
        if len(parts) == 4 and parts[:2] == ["v1", "groups"] and parts[3] == "decisions":
            last = _int_arg(query, "last", 10)
            if last is None:
                return json_reply(400, {"error": "last must be an integer from 1 to 1000"})
            d = view.decisions(parts[2], last)
            if d is None:
                return _no_group(parts[2])
            return json_reply(200, {"group": parts[2], "decisions": d})
        if len(parts) == 4 and parts[:2] == ["v1", "groups"] and parts[3] == "plan":
            plan = view.plan(parts[2])
            if plan is None:
                return _no_group(parts[2])
            return json_reply(200, {"group": parts[2], "plan": plan})
        return json_reply(404, {"error": f"no such endpoint: /{'/'.join(parts)}"})

    def _post(self, parts: list[str], query: dict[str, list[str]]) -> Reply:
        view: DaemonView = self.server.view  # type: ignore[attr-defined]
        body = self._drain()
        if self.headers.get("Origin") is not None:
            return json_reply(403, {"error": "requests from web pages are refused"})
        if len(parts) != 4 or parts[:2] != ["v1", "groups"] or parts[3] not in ("pause", "resume"):
            return json_reply(404, {"error": f"no such endpoint: POST /{'/'.join(parts)}"})
        if body is None:
            return json_reply(413, {"error": f"request body over {MAX_BODY} bytes"})
        if parts[3] == "resume":
            g = view.resume(parts[2])
            return json_reply(200, g) if g is not None else _no_group(parts[2])
        try:
            fields = json.loads(body) if body.strip() else {}
            reason = str(fields.get("reason", "")) if isinstance(fields, dict) else None
        except ValueError:
            reason = None
        if reason is None:
            return json_reply(
                400, {"error": 'the body must be a JSON object, e.g. {"reason": "..."}'}
            )
        g = view.pause(parts[2], reason[:200])
        return json_reply(200, g) if g is not None else _no_group(parts[2])

    def _drain(self) -> bytes | None:
        """Read the request body (so the connection stays usable); None when too big."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.code)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # access logs would drown the one-line-per-tick log


def _no_group(name: str) -> Reply:
    return json_reply(404, {"error": f"no group named {name!r}"})


def _int_arg(query: dict[str, list[str]], key: str, default: int) -> int | None:
    raw = query.get(key, [str(default)])[-1]
    try:
        n = int(raw)
    except ValueError:
        return None
    return n if 1 <= n <= MAX_DECISIONS else None
