"""The daemon's HTTP server (stdlib ``ThreadingHTTPServer``, TLS when configured).

The routes and their authentication are in ``http_routes``; who may call them and over
what in ``api_security``. Serving on a non-loopback address without TLS and a
credential is refused before a socket is opened (``ApiRefused``).
"""

from __future__ import annotations

import ssl
import sys
import threading
from http.server import ThreadingHTTPServer

from prometheus_client import CollectorRegistry

from autoscaler.daemon.api_security import ApiSecurity, bind_problem
from autoscaler.daemon.http_routes import DaemonView, Handler

__all__ = ["ApiRefused", "ApiServer", "DaemonView"]


class ApiRefused(Exception):
    """The API may not be served as configured; one line for the user."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        addr: tuple[str, int],
        view: DaemonView,
        registry: CollectorRegistry,
        security: ApiSecurity,
    ) -> None:
        self.view = view
        self.registry = registry
        self.security = security
        super().__init__(addr, Handler)

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
        # A client that fails the TLS handshake or hangs up is its own problem.
        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError | TimeoutError):
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
    ) -> None:
        security = security or ApiSecurity()
        problem = bind_problem(bind, security)
        if problem is not None:
            raise ApiRefused(problem)
        self.scheme = "https" if security.tls is not None else "http"
        self._server = _Server((bind, port), view, registry, security)
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
