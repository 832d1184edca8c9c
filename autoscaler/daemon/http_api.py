"""The daemon's HTTP endpoints (stdlib ``ThreadingHTTPServer``).

``/metrics`` (Prometheus text), ``/healthz`` (alive), ``/readyz`` (503 with reasons
when not ready), ``/v1/groups``, ``/v1/groups/<name>``,
``/v1/groups/<name>/decisions?last=N`` and ``/v1/groups/<name>/plan`` (the latest
rebalance plan of live migrations; JSON). Everything served is read from the
``DaemonView``; nothing here changes state.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

MAX_DECISIONS = 1000


class DaemonView(Protocol):
    def readiness(self) -> tuple[bool, list[str]]: ...

    def groups_view(self) -> list[dict[str, Any]]: ...

    def group_view(self, name: str) -> dict[str, Any] | None: ...

    def decisions(self, name: str, last: int) -> list[dict[str, Any]] | None: ...

    def plan(self, name: str) -> dict[str, Any] | None: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        view = self.server.view
        try:
            if parts == ["metrics"]:
                self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
            elif parts == ["healthz"]:
                self._json(200, {"status": "alive"})
            elif parts == ["readyz"]:
                ok, reasons = view.readiness()
                self._json(200 if ok else 503, {"ready": ok, "reasons": reasons})
            elif parts == ["v1", "groups"]:
                self._json(200, {"groups": view.groups_view()})
            elif len(parts) == 3 and parts[:2] == ["v1", "groups"]:
                g = view.group_view(parts[2])
                self._json(*((200, g) if g is not None else _no_group(parts[2])))
            elif len(parts) == 4 and parts[:2] == ["v1", "groups"] and parts[3] == "decisions":
                last = _int_arg(parse_qs(url.query), "last", 10)
                if last is None:
                    self._json(400, {"error": "last must be an integer from 1 to 1000"})
                    return
                d = view.decisions(parts[2], last)
                if d is None:
                    self._json(*_no_group(parts[2]))
                else:
                    self._json(200, {"group": parts[2], "decisions": d})
            elif len(parts) == 4 and parts[:2] == ["v1", "groups"] and parts[3] == "plan":
                plan = view.plan(parts[2])
                self._json(*((200, {"group": parts[2], "plan": plan}) if plan is not None
                             else _no_group(parts[2])))  # fmt: skip
            else:
                self._json(404, {"error": f"no such endpoint: {url.path}"})
        except Exception as exc:  # a failing view must answer 500, not kill the thread
            self._json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _json(self, code: int, body: Any) -> None:
        self._send(code, json.dumps(body, default=str).encode(), "application/json")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # access logs would drown the one-line-per-tick log


def _no_group(name: str) -> tuple[int, dict[str, str]]:
    return 404, {"error": f"no group named {name!r}"}


def _int_arg(query: dict[str, list[str]], key: str, default: int) -> int | None:
    raw = query.get(key, [str(default)])[-1]
    try:
        n = int(raw)
    except ValueError:
        return None
    return n if 1 <= n <= MAX_DECISIONS else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], view: DaemonView, registry: CollectorRegistry):
        self.view = view
        self.registry = registry
        super().__init__(addr, _Handler)


class ApiServer:
    """Serves the API on a background thread. ``port=0`` picks a free port."""

    def __init__(self, view: DaemonView, registry: CollectorRegistry, bind: str, port: int):
        self._server = _Server((bind, port), view, registry)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http", kwargs={"poll_interval": 0.2}
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
