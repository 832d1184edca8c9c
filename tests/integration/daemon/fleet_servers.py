"""Real redis-server, etcd, ZooKeeper and PostgreSQL (Debian's) on 127.0.0.1 for the fleet tests.

Each server runs in a throwaway directory on a free port and is stopped by the test
that started it. PostgreSQL refuses to run as root: as root the cluster belongs to the
``postgres`` user (``runuser``), as anyone else to the caller.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class ServerProcess:
    """One server process on ``self.port``: started by a subclass's ``start`` through
    ``_spawn``, killed by ``stop`` (idempotent)."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class RedisServer(ServerProcess):
    """redis-server without persistence: a restart loses every key, as the worst case."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server not installed (make test installs Debian's redis-server)")
        self.binary = binary
        self.dir = directory
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._spawn(
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", str(self.dir)),
            ],
        )


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl), trust auth on 127.0.0.1 only."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip("PostgreSQL not installed (make test installs Debian's postgresql)")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        # Outside pytest's 0700 temp tree: the postgres user must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="autoscaler-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            self.initdb, "-D", str(self.data), "-A", "trust", "-U", "autoscaler", "-E", "UTF8"
        )
        self._run(
            self.pg_ctl,
            *("-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o"),
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def create_database(self, name: str) -> str:
        """A fresh database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=autoscaler dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://autoscaler@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class EtcdServer(ServerProcess):
    """Debian's etcd, one node, client and peer ports on 127.0.0.1, a throwaway data dir."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            pytest.skip("etcd not installed (make test installs Debian's etcd-server)")
        self.binary = binary
        self.dir = directory
        self.port, self.peer = free_port(), free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"etcd3+http://127.0.0.1:{self.port}"

    def start(self) -> None:
        client, peer = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.peer}"
        self._spawn(
            [
                self.binary,
                *("--name", "t", "--data-dir", str(self.dir / "etcd")),
                *("--listen-client-urls", client, "--advertise-client-urls", client),
                *("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer),
                *("--initial-cluster", f"t={peer}", "--log-level", "error"),
            ],
        )


ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"  # Debian's zookeeper package


class ZookeeperServer(ServerProcess):
    """Debian's ZooKeeper, standalone, on 127.0.0.1 (no admin server). A short tick lets
    the tests ask for sessions of a second or two (ZooKeeper's floor is two ticks)."""

    def __init__(self, directory: Path) -> None:
        java = shutil.which("java")
        if java is None or not Path(ZOOKEEPER_JAR).exists():
            pytest.skip("ZooKeeper not installed (make test installs Debian's zookeeper)")
        self.java = java
        self.dir = directory
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"zookeeper://127.0.0.1:{self.port}"

    def start(self) -> None:
        data = self.dir / "zookeeper"
        data.mkdir(exist_ok=True)
        cfg = self.dir / "zoo.cfg"
        cfg.write_text(
            f"tickTime=250\ndataDir={data}\nclientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
            "minSessionTimeout=500\nmaxSessionTimeout=10000\n"
        )
        self._spawn(
            [
                *(self.java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", ZOOKEEPER_JAR),
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                str(cfg),
            ],
            timeout=40,
        )
