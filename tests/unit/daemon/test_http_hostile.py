"""The daemon's HTTP server against hostile clients, over real sockets: a slowloris
client or an idle connection cannot hold a thread past the request deadline nor block
others, a flood of connections is refused at once, requests are bounded in size."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from autoscaler.daemon.http_api import ApiServer

TIMEOUT = 1.5  # the request deadline of the server under test (10 s in the daemon)


class _View:
    def readiness(self) -> tuple[bool, list[str]]:
        return True, []

    def notices(self) -> list[str]:
        return []

    def groups_view(self) -> list[dict]:
        return []

    def group_view(self, name: str) -> None:
        return None

    def decisions(self, name: str, last: int) -> None:
        return None

    def plan(self, name: str) -> None:
        return None

    def pause(self, name: str, reason: str) -> None:
        return None

    def resume(self, name: str) -> None:
        return None


@pytest.fixture
def server() -> Iterator[ApiServer]:
    api = ApiServer(
        _View(), CollectorRegistry(), "127.0.0.1", 0, request_timeout=TIMEOUT, max_connections=4
    )
    api.start()
    yield api
    api.stop()


def _connect(api: ApiServer) -> socket.socket:
    s = socket.create_connection(api.address, timeout=5)
    s.settimeout(5)
    return s


def _healthz(api: ApiServer) -> bytes:
    with _connect(api) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return _read_all(s)


def _read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _wait(predicate, limit: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_slowloris_client_is_cut_off_and_does_not_block_others(server: ApiServer) -> None:
    slow = _connect(server)
    cut = threading.Event()

    def drip() -> None:  # one header byte every 50 ms, never finishing
        try:
            for b in b"GET /healthz HTTP/1.1\r\nX-Long: " + b"a" * 10_000:
                slow.send(bytes([b]))
                time.sleep(0.05)
        except OSError:
            cut.set()

    t0 = time.monotonic()
    threading.Thread(target=drip, daemon=True).start()
    time.sleep(0.2)
    assert b"200 OK" in _healthz(server)  # served while the slow client drips
    assert time.monotonic() - t0 < TIMEOUT and not cut.is_set()
    # the server shut the slow connection soon after its deadline: its thread is free
    assert _wait(lambda: server.open_connections == 0, TIMEOUT + 2)
    assert time.monotonic() - t0 < TIMEOUT + 2
    slow.settimeout(2)
    assert slow.recv(100) == b""  # closed by the server, no reply
    slow.close()


def test_idle_connections_are_reaped_and_a_flood_is_refused_at_once(server: ApiServer) -> None:
    idle = [_connect(server) for _ in range(4)]  # the server's max_connections
    assert _wait(lambda: server.open_connections == 4)
    with _connect(server) as extra:  # refused on accept: closed, not queued forever
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        t0 = time.monotonic()
        assert _read_all(extra) == b"" and time.monotonic() - t0 < 1
    # past the deadline every idle one is shut and the server serves again
    assert _wait(lambda: server.open_connections == 0, TIMEOUT + 2)
    assert b"200 OK" in _healthz(server)
    for s in idle:
        assert s.recv(10) == b""
        s.close()


def test_keep_alive_gets_a_fresh_deadline_per_request(server: ApiServer) -> None:
    with _connect(server) as s:
        for _ in range(3):  # three requests over 1.5 deadlines in all, each one quick
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while not reply.endswith(b'"alive"}'):
                reply += s.recv(65536) or b"EOF"
                assert not reply.endswith(b"EOF"), reply
            assert reply.startswith(b"HTTP/1.1 200"), reply
            time.sleep(TIMEOUT / 2)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET /healthz HTTP/1.1\r\n" + b"X: y\r\n" * 150 + b"\r\n", b"431"),
        (b"POST /v1/groups/web/pause HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", b"413"),
    ],
)
def test_oversized_requests_are_refused(
    server: ApiServer, request_bytes: bytes, status: bytes
) -> None:
    with _connect(server) as s:
        s.sendall(request_bytes)
        reply = _read_all(s)
    assert reply.split(b"\r\n", 1)[0].split(b" ")[1] == status, reply[:200]
    assert b"200 OK" in _healthz(server)
