"""A tiny HTTP(S) reverse proxy for tests: checks credentials, forwards GETs upstream.

It stands in for the authenticating front (nginx, oauth2-proxy) that real Prometheus
deployments put before the server. Hooks let a test act on the n-th request (kill the
upstream server between two chunks of a long query) or cut an answer short.
"""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class AuthProxy:
    """Listens on 127.0.0.1:<port>; ``url`` is where to send requests.

    Accepts ``Authorization: Bearer <token>`` when ``token`` is set, or basic auth when
    ``user``/``password`` are. ``on_request(n)`` runs before the n-th (1-based) request
    is forwarded. ``cut_after`` closes the connection after that many body bytes;
    ``delay`` holds every answer back that many seconds.
    """

    def __init__(
        self,
        upstream: str,
        *,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        tls: tuple[str, str] | None = None,
        on_request: Callable[[int], None] | None = None,
        cut_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests = 0
        self.rejected = 0
        expected: set[str] = set()
        if token is not None:
            expected.add(f"Bearer {token}")
        if user is not None and password is not None:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            expected.add(f"Basic {pair}")
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.requests += 1
                if expected and self.headers.get("Authorization") not in expected:
                    proxy.rejected += 1
                    body = b'{"status":"error","error":"unauthorized"}'
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Bearer realm="prometheus"')
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if on_request is not None:
                    on_request(proxy.requests)
                if delay:
                    time.sleep(delay)
                try:
                    up = requests.get(proxy.upstream + self.path, timeout=10)
                except requests.RequestException:
                    # What a dead upstream looks like through a proxy: the client's
                    # connection is dropped without an answer.
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = up.content
                self.send_response(up.status_code)
                self.send_header("Content-Type", up.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if cut_after is not None:
                    self.wfile.write(body[:cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AuthProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
