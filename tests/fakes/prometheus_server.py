"""A real Prometheus for tests: backfill series with promtool, serve them on 127.0.0.1.

``backfill`` writes an OpenMetrics file and turns it into TSDB blocks with
``promtool tsdb create-blocks-from openmetrics``; ``PrometheusProcess`` runs the
``prometheus`` binary on that directory with a long retention (backfilled data may be
old) and waits for ``/-/ready``.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.fakes.processes import stop_process


@dataclass(frozen=True)
class Series:
    """One series to backfill: metric name, labels, epoch-second timestamps and values."""

    name: str
    labels: Mapping[str, str]
    timestamps: Sequence[float]
    values: Sequence[float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _om_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def backfill(series: Sequence[Series], data_dir: Path, work_dir: Path) -> None:
    """Write ``series`` as OpenMetrics and create TSDB blocks in ``data_dir``."""
    om = work_dir / "backfill.om"
    by_name: dict[str, list[Series]] = {}
    for s in series:
        by_name.setdefault(s.name, []).append(s)
    with om.open("w", encoding="utf-8") as f:
        for name, members in by_name.items():
            f.write(f"# TYPE {name} gauge\n")
            for s in members:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                head = f"{name}{{{labels}}}" if labels else name
                f.writelines(
                    f"{head} {_om_value(v)} {t:.3f}\n"
                    for t, v in zip(s.timestamps, s.values, strict=True)
                )
        f.write("# EOF\n")
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(data_dir)],
        check=True,
        capture_output=True,
        timeout=120,
    )


class PrometheusProcess:
    """A ``prometheus`` server on 127.0.0.1 serving ``data_dir``; ``stop`` or ``kill`` it."""

    def __init__(self, data_dir: Path, work_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = work_dir / f"prometheus-{self.port}.yml"
        config.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
        self._log = (work_dir / f"prometheus-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=100y",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout=60)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout}s")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


def copy_data(src: Path, dst: Path) -> Path:
    """A private copy of a backfilled data dir (for a server a test will kill). The
    server may be compacting blocks meanwhile (a block vanishes mid-copy): retry."""
    for attempt in range(5):
        try:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("lock", "wal", "chunks_head"))
            return dst
        except shutil.Error:
            shutil.rmtree(dst, ignore_errors=True)
            if attempt == 4:
                raise
            time.sleep(1.0)
    return dst
