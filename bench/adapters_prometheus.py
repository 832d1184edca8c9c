"""Benchmark: reading a long real trace back from a real Prometheus through PrometheusSource.

Backfills the whole NASA HTTP 1995 per-minute trace (58.6 days, ~84k points) into a
temporary Prometheus, then times ``query`` over the full range with the default chunk
size (11,000 points per call) against a baseline of 1,000 points per call measured in
the same run, and the engine's fast path (``window`` of one day). Prints figures only.
Needs Debian's prometheus/promtool and ../shared/data; exits 0 with a note otherwise.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoscaler.adapters.prometheus_source import PrometheusSource  # noqa: E402
from tests.fakes.prometheus_server import PrometheusProcess, Series, backfill  # noqa: E402

NASA = ROOT.parent / "shared" / "data" / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
MIN = timedelta(minutes=1)


def timed(fn, repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> int:
    if shutil.which("prometheus") is None or not NASA.exists():
        print("skipped: needs Debian's prometheus and ../shared/data")
        return 0
    df = pd.read_csv(NASA)
    index = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], utc=True))
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    index = index + (end - index[-1])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        stamps = [ts.timestamp() for ts in index]
        backfill([Series("nasa_http_requests", {}, stamps, df["requests"].tolist())],
                 work / "data", work)  # fmt: skip
        print(f"backfill of {len(df):,} points with promtool: {time.perf_counter() - t:.1f} s")
        server = PrometheusProcess(work / "data", work)
        try:
            fast = PrometheusSource(server.url)
            small = PrometheusSource(server.url, max_points=1000)
            q = "nasa_http_requests"
            series = fast.query(q, index[0], index[-1], MIN)
            assert len(series) == len(pd.date_range(index[0], index[-1], freq=MIN))
            t_fast = timed(lambda: fast.query(q, index[0], index[-1], MIN))
            t_small = timed(lambda: small.query(q, index[0], index[-1], MIN))
            t_window = timed(lambda: fast.window(q, index[-1], timedelta(days=1), MIN), 20)
            n = len(series)
            print(f"full range: {n:,} points, {series.isna().sum():,} NaN (the real outage)")
            print(f"query, 11,000 points per call ({-(-n // 11000)} calls): {t_fast * 1000:.0f} ms"
                  f" ({t_fast / n * 1e6:.2f} us/point)")  # fmt: skip
            print(
                f"baseline, 1,000 points per call ({-(-n // 1000)} calls): {t_small * 1000:.0f} ms"
            )
            print(f"ratio baseline / default: {t_small / t_fast:.2f}x")
            print(f"window of one day (1,440 points): {t_window * 1000:.1f} ms")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
