"""A stand-in for the two paths ``autoscaler status`` reads (``/readyz``, ``/v1/groups``),
served on 127.0.0.1: for the start-up test and ``bench/cli_startup.py``."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def status_api(groups: list[dict[str, Any]]) -> Iterator[str]:
    """Serve a ready daemon with ``groups``; yields its base URL. Other paths get 404."""
    answers = {"/readyz": {"ready": True, "reasons": []}, "/v1/groups": {"groups": groups}}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answers.get(self.path)
            data = json.dumps(body).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
