"""CPU time per simulated step for each policy, and a digest of every decision it made.

On a shared machine wall time mostly measures waiting for a core; this reads
``time.process_time`` every ``--segment`` steps of the replay (``run_policy``'s
progress callback) and reports the median segment after ``--skip`` steps (by default
the first week, while the forecaster's training window still grows), in microseconds
per step, and its ratio to target's in the same run (issue 14's goal: qos and
predictive_target at least 0.43x of target's speed, i.e. at most 1 / 0.43 = 2.33x its
time per step).

The digest (sha256, 16 hex digits) covers every tick's time, group, desired count and
reason (every policy's vote and reason, the guard), the ready and booting counts of
every step and the run's score: two commits that make the same decisions print the same
digests. Run it on another checkout by putting that checkout first on the import path.

Usage: python bench/simulate_cpu.py [--trace PATH] [--steps N] [--policies a,b,...]
"""

from __future__ import annotations

import os

# One BLAS thread, as the CLI and bench/simulate_speed.py set, before numpy loads.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from autoscaler.simulation import PolicyRun, build_scenario, run_policy  # noqa: E402
from autoscaler.simulator.scoring import required_instances  # noqa: E402
from autoscaler.traces import load_trace  # noqa: E402

DEFAULT = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/nasa-http-1995/nasa_http_1995_per_minute.csv"
)
SEGMENT = 1024  # run_policy's progress callback comes every 1,024 steps


def digest(run: PolicyRun) -> str:
    """sha256 of every decision row, the ready and booting counts and the score."""
    h = hashlib.sha256()
    for r in run.decisions:
        h.update(f"{r.at.isoformat()}|{r.group}|{r.desired}|{r.reason}\n".encode())
    h.update(run.ready.tobytes())
    h.update(run.booting.tobytes())
    h.update(json.dumps(run.score.as_dict(), sort_keys=True).encode())
    return h.hexdigest()[:16]


def timed_run(scn, name: str, required) -> tuple[PolicyRun, list[float]]:
    """The run and the CPU seconds of each full 1,024-step segment, in order."""
    marks = [time.process_time()]

    def tick(n: int) -> None:
        if n == SEGMENT:
            marks.append(time.process_time())

    run = run_policy(scn, name, required, progress=tick)
    return run, [b - a for a, b in itertools.pairwise(marks)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", type=Path, default=DEFAULT)
    ap.add_argument("--steps", type=int, default=16384, help="the first N steps (0: all)")
    ap.add_argument("--skip", type=int, default=10240, help="steps before the segments that count")
    ap.add_argument("--policies", default="target,predictive_target,qos")
    ap.add_argument("--label", default="", help="printed at the start of each line")
    args = ap.parse_args()
    trace = load_trace(args.trace, fill="zero")
    if args.steps > 0:
        trace = replace(trace, series=trace.series.iloc[: args.steps])
    scn = build_scenario(trace)
    required = required_instances(scn.load, scn.service, scn.spec.max_size)
    first = args.skip // SEGMENT
    per_step: dict[str, float] = {}
    for name in args.policies.split(","):
        run, segments = timed_run(scn, name, required)
        counted = segments[first:] or segments
        per_step[name] = statistics.median(counted) / SEGMENT * 1e6
        ratio = per_step["target"] / per_step[name] if "target" in per_step else float("nan")
        spread = ", ".join(f"{s / SEGMENT * 1e6:.0f}" for s in counted)
        print(
            f"{args.label}{name:<18} {per_step[name]:>7.1f} us/step  {ratio:5.2f}x target's "
            f"speed  digest {digest(run)}  segments [{spread}]",
            flush=True,
        )


if __name__ == "__main__":
    main()
