"""The daemon's HTTP server (stdlib ``ThreadingHTTPServer``, TLS when configured).

The routes and their authentication are in ``http_routes``; who may call them and over
what in ``api_security``. Serving on a non-loopback address without TLS and a
credential is refused before a socket is opened (``ApiRefused``).

No client can hold the server: each request (its line, headers and body, and the
reply) must complete within ``request_timeout`` seconds of the connection's accept or
of the previous reply on it, or the connection is shut (a slowloris client sending its
headers byte by byte, or an idle keep-alive connection, holds a thread at most that
long); at most ``max_connections`` are served at once (more are closed on accept); the
listen backlog is 64. Request size is bounded by the routes: a 64 KiB request line,
100 headers, a 4 KiB body.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from prometheus_client import CollectorRegistry

from autoscaler.daemon.api_security import ApiSecurity, bind_problem
from autoscaler.daemon.http_routes import DaemonView, Handler

__all__ = ["ApiRefused", "ApiServer", "DaemonView"]


class ApiRefused(Exception):
    """The API may not be served as configured; one line for the user."""


REQUEST_TIMEOUT = 10.0  # seconds for one request, headers to reply
MAX_CONNECTIONS = 64


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        addr: tuple[str, int],
        view: DaemonView,
        registry: CollectorRegistry,
        security: ApiSecurity,
        request_timeout: float,
        max_connections: int,
    ) -> None:
        self.view = view
        self.registry = registry
        self.security = security
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        super().__init__(addr, Handler)

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        with self._lock:
            full = len(self._deadlines) >= self.max_connections
            if not full:
                self._deadlines[request] = time.monotonic() + self.request_timeout
        if full:  # refused at once: a flood of connections cannot queue up threads
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def rearm(self, request: socket.socket) -> None:
        """The next request on this connection gets a fresh ``request_timeout``."""
        with self._lock:
            if request in self._deadlines:
                self._deadlines[request] = time.monotonic() + self.request_timeout

    def shutdown_request(self, request):  # type: ignore[no-untyped-def]
        with self._lock:
            self._deadlines.pop(request, None)
        super().shutdown_request(request)

    def service_actions(self) -> None:
        """Called by ``serve_forever`` every poll interval: shut the connections past
        their deadline, which ends the blocked read in their thread."""
        now = time.monotonic()
        with self._lock:
            late = [r for r, deadline in self._deadlines.items() if deadline < now]
            for r in late:
                del self._deadlines[r]
        for r in late:
            # the plain socket's shutdown, also under TLS (no TLS close_notify)
            with contextlib.suppress(OSError):
                socket.socket.shutdown(r, socket.SHUT_RDWR)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._deadlines)

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, addr = super().get_request()
        if self.security.tls is not None:
            # The handshake happens in the request's own thread (on first read), so a
            # slow client never holds up the accept loop.
            sock = self.security.tls.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, addr

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        # A client that fails the TLS handshake, hangs up or is cut off at its deadline
        # is its own problem.
        if isinstance(sys.exc_info()[1], ssl.SSLError | OSError):
            return
        super().handle_error(request, client_address)


class ApiServer:
    """Serves the API on a background thread. ``port=0`` picks a free port. Raises
    ``ApiRefused`` (unsafe bind) or ``OSError`` (cannot listen)."""

    def __init__(
        self,
        view: DaemonView,
        registry: CollectorRegistry,
        bind: str,
        port: int,
        security: ApiSecurity | None = None,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        security = security or ApiSecurity()
        problem = bind_problem(bind, security)
        if problem is not None:
            raise ApiRefused(problem)
        self.scheme = "https" if security.tls is not None else "http"
        self._server = _Server(
            (bind, port), view, registry, security, request_timeout, max_connections
        )
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

    @property
    def open_connections(self) -> int:
        """Connections being served now (each holds a thread)."""
        return self._server.open_connections

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
