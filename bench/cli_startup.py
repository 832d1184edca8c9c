"""Start-up time of the CLI: ``autoscaler --help`` and ``autoscaler status --url``.

Goal (issue 11): ``--help`` under 0.5x of ``python -c "import pandas"``, timed in the
same run on the same machine, so that the figure does not depend on the machine's
speed. ``status`` runs against a small in-process HTTP server that answers the two
paths it reads. Each command is run several times and the median wall time printed.

Usage: python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

AUTOSCALER = str(Path(sys.executable).parent / "autoscaler")


class _Daemon(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = {"/readyz": {"ready": True, "reasons": []}, "/v1/groups": {"groups": []}}
        data = json.dumps(body.get(self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Daemon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        rows = [
            ("python -c 'import pandas' (baseline)", [sys.executable, "-c", "import pandas"]),
            ("python -c 'pass' (interpreter)", [sys.executable, "-c", "pass"]),
            ("autoscaler --help", [AUTOSCALER, "--help"]),
            ("autoscaler status --url ...", [AUTOSCALER, "status", "--url", url]),
        ]
        medians = {name: median_seconds(argv, args.runs) for name, argv in rows}
    finally:
        server.shutdown()
    base = medians[rows[0][0]]
    print(f"median of {args.runs} runs each")
    print(f"{'command':<40} {'seconds':>8} {'x pandas':>9}")
    for name, sec in medians.items():
        print(f"{name:<40} {sec:8.3f} {sec / base:9.2f}")
    ratio = medians["autoscaler --help"] / base
    print(f"goal: --help under 0.5x of import pandas: {'met' if ratio < 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
