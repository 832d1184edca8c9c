"""Start-up time of the CLI: ``autoscaler --help`` and ``autoscaler status --url``.

Goal (issue 11): ``--help`` under 0.5x of ``python -c "import pandas"``, timed in the
same run on the same machine, so that the figure does not depend on the machine's
speed. ``status`` runs against a small in-process HTTP server that answers the two
paths it reads. Each command is run several times and the median wall time printed.

Usage: python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.status_api_stub import status_api

AUTOSCALER = str(Path(sys.executable).parent / "autoscaler")


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
    with status_api([]) as url:
        rows = [
            ("python -c 'import pandas' (baseline)", [sys.executable, "-c", "import pandas"]),
            ("python -c 'pass' (interpreter)", [sys.executable, "-c", "pass"]),
            ("autoscaler --help", [AUTOSCALER, "--help"]),
            ("autoscaler status --url ...", [AUTOSCALER, "status", "--url", url]),
        ]
        medians = {name: median_seconds(argv, args.runs) for name, argv in rows}
    base = medians[rows[0][0]]
    print(f"median of {args.runs} runs each")
    print(f"{'command':<40} {'seconds':>8} {'x pandas':>9}")
    for name, sec in medians.items():
        print(f"{name:<40} {sec:8.3f} {sec / base:9.2f}")
    ratio = medians["autoscaler --help"] / base
    print(f"goal: --help under 0.5x of import pandas: {'met' if ratio < 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
