"""Summaries, tables and plots of GPU fleet runs (matplotlib is imported lazily)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autoscaler.simulator.gpu.frag_replay import FragRun
from autoscaler.simulator.gpu.time_config import TimeRun
from autoscaler.simulator.gpu.time_jobs import GroupStats


def _curve(values: np.ndarray) -> dict[str, float | None]:
    return {str(x): (None if np.isnan(v) else round(float(v), 3)) for x, v in enumerate(values)}


def mean_curve(runs: Sequence[FragRun], attr: str) -> np.ndarray:
    """Mean over seeds of one curve (NaN where every seed is NaN)."""
    stack = np.vstack([getattr(r, attr) for r in runs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmean(stack, axis=0)


def fragmentation_summary(by_policy: dict[str, list[FragRun]]) -> dict[str, Any]:
    """The ``summary.json`` document for fragmentation mode (curves are seed means)."""
    placements: dict[str, Any] = {}
    for name, runs in by_policy.items():
        placements[name] = {
            "gpu_allocation_ratio_pct": _curve(mean_curve(runs, "allocation_pct")),
            "fragmentation_ratio_pct": _curve(mean_curve(runs, "fragmentation_ratio_pct")),
            "fragmented_gpu_pct": _curve(mean_curve(runs, "fragmentation_pct")),
            "unallocated_gpus": _curve(
                runs[0].total_gpus * (1 - mean_curve(runs, "allocation_pct") / 100)
            ),
            "unallocated_gpus_at_max_load": round(
                float(np.mean([r.unallocated_gpus_at_max_load for r in runs])), 3
            ),
            "wall_seconds": round(float(np.mean([r.wall_seconds for r in runs])), 3),
            "seeds": [r.seed for r in runs],
        }
    return {"mode": "fragmentation", "placements": placements}


def fragmentation_table(by_policy: dict[str, list[FragRun]]) -> str:
    """One row per policy: allocation at 100 % and max load, fragmentation, idle GPUs."""
    any_run = next(iter(by_policy.values()))[0]
    top = any_run.load_pct
    mid = min(100, top)
    head = (
        f"{'placement':<16}{'alloc@' + str(mid) + '%':>12}{'alloc@' + str(top) + '%':>12}"
        f"{'frag GPUs%':>12}{'frag ratio%':>13}{'idle GPUs':>11}{'wall s':>9}"
    )
    rows = [head]
    for name, runs in by_policy.items():
        alloc = mean_curve(runs, "allocation_pct")
        frag = mean_curve(runs, "fragmentation_pct")
        ratio = mean_curve(runs, "fragmentation_ratio_pct")
        rows.append(
            f"{name:<16}{alloc[mid]:>12.2f}{alloc[top]:>12.2f}{frag[top]:>12.2f}{ratio[top]:>13.2f}"
            f"{np.mean([r.unallocated_gpus_at_max_load for r in runs]):>11.1f}"
            f"{np.mean([r.wall_seconds for r in runs]):>9.2f}"
        )
    return "\n".join(rows)


def _groups(groups: dict[str, GroupStats]) -> dict[str, Any]:
    return {
        name: {
            "finished": g.finished,
            "jct_seconds": {"mean": _round(g.jct_mean), "p95": _round(g.jct_p95)},
            "queueing_delay_seconds": {"mean": _round(g.wait_mean), "p95": _round(g.wait_p95)},
        }
        for name, g in groups.items()
    }


def run_summary(r: TimeRun) -> dict[str, Any]:
    """One configuration's entry of ``summary.json`` in time mode."""
    c = r.config
    return {
        "placement": c.placement,
        "scheduler": c.scheduler,
        "clairvoyant": c.clairvoyant,
        "preemption": c.preempts,
        "preemption_cost_seconds": c.preemption_cost_s,
        "migration": c.migration,
        "migration_cost_seconds": c.migration_cost_s,
        "allocation": c.allocation,
        "borrowing": c.borrowing,
        "arrival_speedup": c.arrival_speedup,
        "jct_seconds": {k: _round(r.jct_stat(k)) for k in ("mean", "p50", "p95", "p99")},
        "queueing_delay_seconds": {
            "mean": _round(float(r.queueing_delay.mean()) if len(r.queueing_delay) else None),
            "p95": _round(
                float(np.percentile(r.queueing_delay, 95)) if len(r.queueing_delay) else None
            ),
        },
        "by_class": _groups(r.by_class),
        "by_partition": _groups(r.by_partition),
        "makespan_seconds": _round(r.makespan_s),
        "mean_gpu_utilisation_pct": _round(r.mean_gpu_util_pct),
        "gpu_utilisation_while_queued_pct": _round(r.util_while_queued_pct),
        "mean_fragmentation_pct": _round(r.mean_fragmentation_pct),
        "mean_fragmentation_ratio_pct": _round(r.mean_fragmentation_ratio_pct),
        "finished": r.finished,
        "unfinished": r.unfinished,
        "preemptions": r.preemptions,
        "quota_returns": r.quota_returns,
        "migrations": r.migrations,
        "compactions": r.compactions,
        "pause_seconds": _round(r.pause_seconds),
        "gittins_refits": r.gittins_refits,
        "reclaims": r.reclaims,
        "wall_seconds": _round(r.wall_seconds),
        "cpu_seconds": _round(r.cpu_seconds),
    }


def time_summary(runs: Sequence[TimeRun]) -> dict[str, Any]:
    """The ``summary.json`` document for time mode, one entry per configuration."""
    return {"mode": "time", "runs": {r.config.label(): run_summary(r) for r in runs}}


def _round(v: float | None) -> float | None:
    return None if v is None or np.isnan(v) else round(float(v), 3)


def _class_mean(r: TimeRun, *classes: str) -> float:
    """Mean JCT over the finished jobs of ``classes`` (NaN if none)."""
    groups = [r.by_class[c] for c in classes if c in r.by_class and r.by_class[c].finished]
    n = sum(g.finished for g in groups)
    return sum(g.jct_mean * g.finished for g in groups) / n if n else float("nan")


def time_table(runs: Sequence[TimeRun]) -> str:
    """One row per configuration: JCT mean/p95, per class (LS+Guaranteed+Burstable vs
    BE), queueing, fragmentation, utilisation, counts. ``*`` marks clairvoyant ones."""
    rows = [
        f"{'configuration':<48}{'JCT mean':>10}{'p95':>10}{'LS mean':>10}{'BE mean':>10}"
        f"{'wait':>9}{'frag%':>7}{'util%':>7}{'preempt':>8}{'migr':>6}{'unfin':>6}"
    ]
    for r in runs:
        wait = float(r.queueing_delay.mean()) if len(r.queueing_delay) else float("nan")
        name = r.config.label() + ("*" if r.config.clairvoyant else "")
        rows.append(
            f"{name:<48}{r.jct_stat('mean'):>10.0f}{r.jct_stat('p95'):>10.0f}"
            f"{_class_mean(r, 'LS', 'Guaranteed', 'Burstable'):>10.0f}{_class_mean(r, 'BE'):>10.0f}"
            f"{wait:>9.0f}{r.mean_fragmentation_pct:>7.2f}{r.mean_gpu_util_pct:>7.1f}"
            f"{r.preemptions + r.quota_returns:>8}{r.migrations:>6}{r.unfinished:>6}"
        )
    return "\n".join(rows)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_allocation(by_policy: dict[str, list[FragRun]], path: Path) -> None:
    """GPU allocation ratio against submitted load, one curve per policy."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in by_policy.items():
        alloc = mean_curve(runs, "allocation_pct")
        ax.plot(np.arange(len(alloc)), alloc, label=name)
    top = next(iter(by_policy.values()))[0].load_pct
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls=":")
    ax.set_xlim(0, top)
    ax.set_xlabel("submitted GPU load (% of cluster GPUs)")
    ax.set_ylabel("GPU allocation ratio (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_time(runs: Sequence[TimeRun], allocation_path: Path, cdf_path: Path) -> None:
    """Allocated GPUs over time, and the JCT CDF, one curve per configuration."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in runs:
        ax.step(r.util_times / 3600, r.util_pct, where="post", label=r.config.label(), lw=0.8)
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel("allocated GPUs (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(allocation_path, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in runs:
        if len(r.jct):
            x = np.sort(r.jct)
            ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=r.config.label())
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (s)")
    ax.set_ylabel("fraction of jobs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(cdf_path, dpi=110)
    plt.close(fig)
