"""The serving scenario's table and its day plot (requests, replicas, latency)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

DAY = 86400.0


def format_table(policies: Mapping[str, Mapping]) -> str:
    """One row per policy: the measures of ``summary.json``."""
    head = (
        f"{'policy':<28} {'GPU-h':>8} {'good/GPU-h':>10} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} "
        f"{'in SLO':>7} {'cold':>6} {'behind':>6} {'scales':>6} {'vs oracle':>9}"
    )
    rows = [head]
    for name, d in policies.items():
        lat = d["latency_seconds"]
        vs = d.get("gpu_hours_vs_oracle")
        rows.append(
            f"{name:<28} {d['gpu_hours']:>8.1f} {d['slo_goodput_per_gpu_hour']:>10.2f} "
            f"{lat['p50']:>7.1f} {lat['p95']:>7.1f} {lat['p99']:>7.1f} "
            f"{d['slo_attainment']:>7.2%} {d['cold_starts']:>6} "
            f"{d['requests_behind_cold_start']:>6} {d['scale_events']:>6} "
            f"{'' if vs is None else f'{vs:.2f}x':>9}"
        )
    return "\n".join(rows)


def busiest_day(arrival: np.ndarray) -> int:
    """The day (from the replay's start) with the most arrivals."""
    return int(np.argmax(np.bincount((arrival // DAY).astype(np.int64))))


def replicas_at(log: Sequence[tuple[float, int]], times: np.ndarray) -> np.ndarray:
    """The billed replicas at each of ``times`` from a (time, count) change log."""
    t = np.asarray([e[0] for e in log])
    n = np.asarray([e[1] for e in log])
    i = np.searchsorted(t, times, side="right") - 1
    return np.where(i >= 0, n[np.maximum(i, 0)], 0)


def plot_day(
    path: Path,
    day: int,
    arrival: np.ndarray,
    runs: Mapping[str, tuple[Sequence[tuple[float, int]], np.ndarray]],
    slo_seconds: float,
    title: str,
) -> None:
    """Three panels over day ``day``: requests a minute, replicas per policy, and the
    p95 latency of the requests arriving in each 10 minutes per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = day * DAY, (day + 1) * DAY
    fig, (ax_r, ax_n, ax_l) = plt.subplots(3, 1, figsize=(12, 8.5), sharex=True)
    in_day = (arrival >= lo) & (arrival < hi)
    minutes = np.bincount(((arrival[in_day] - lo) // 60).astype(np.int64), minlength=1440)
    ax_r.bar(np.arange(1440) / 60, minutes[:1440], width=1 / 60, color="0.35")
    ax_r.set_ylabel("requests / min")
    grid = lo + np.arange(0, DAY, 30.0)
    bucket = ((arrival[in_day] - lo) // 600).astype(np.int64)
    for name, (log, latency) in runs.items():
        ax_n.step((grid - lo) / 3600, replicas_at(log, grid), where="post", lw=0.9, label=name)
        lat = latency[in_day]
        p95 = np.full(144, np.nan)
        for b in np.unique(bucket):
            p95[b] = np.percentile(lat[bucket == b], 95)
        ax_l.plot(np.arange(144) / 6 + 1 / 12, p95, marker=".", lw=0.8, label=name)
    ax_n.set_ylabel("GPU replicas")
    ax_n.legend(loc="upper right", ncol=len(runs), fontsize=8, framealpha=0.9)
    ax_l.axhline(slo_seconds, color="red", ls="--", lw=0.8, label="SLO")
    ax_l.set_ylim(bottom=0)
    ax_l.set_ylabel("p95 wait + cold start (s)\nof arrivals per 10 min")
    ax_l.set_xlabel(f"hour of day {day} of the replay")
    ax_l.legend(loc="upper right", ncol=len(runs) + 1, fontsize=8, framealpha=0.9)
    ax_r.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
