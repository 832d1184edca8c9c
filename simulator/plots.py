"""Plots of a scaling simulation that stay readable on long traces.

Steps are aggregated into bins (at most ``MAX_BINS`` per panel, on a round duration):
each policy's panel shows the instances the SLO needed (grey: the bin's mean, a line
for its peak), the
instances it paid for (blue: the bin's mean, with its min-max band), the share of the
bin's steps that violated the SLO (red bars, right axis); a last panel shows the
cumulative cost of every policy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

MAX_BINS = 300
ROUND_BINS = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)  # seconds


@dataclass(frozen=True)
class PlottedRun:
    """One policy's run, per step: instances ready and booting, SLO violated."""

    ready: np.ndarray
    booting: np.ndarray
    violated: np.ndarray


def bin_steps(n: int, step_seconds: float, max_bins: int = MAX_BINS) -> int:
    """Steps per bin: the smallest round duration that gives at most ``max_bins`` bins."""
    if n <= max_bins:
        return 1
    for seconds in ROUND_BINS:
        k = max(1, round(seconds / step_seconds))
        if math.ceil(n / k) <= max_bins:
            return k
    return math.ceil(n / max_bins)


def _bins(values: np.ndarray, k: int, how: str) -> np.ndarray:
    n = len(values)
    pad = (-n) % k
    v = np.asarray(values, dtype=float)
    if pad:  # the last, partial bin: pad with NaN so that it is not biased
        v = np.concatenate([v, np.full(pad, np.nan)])
    v = v.reshape(-1, k)
    return {"mean": np.nanmean, "max": np.nanmax, "min": np.nanmin}[how](v, axis=1)


def _label(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{seconds / 86400:g} d"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


def plot_simulation(
    path: Path,
    index: pd.DatetimeIndex,
    required: np.ndarray,
    runs: Mapping[str, PlottedRun],
    *,
    step_seconds: float,
    price_per_hour: float,
    title: str,
) -> None:
    """Write the simulation plot (see the module docstring) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(runs)
    k = bin_steps(len(index), step_seconds)
    x = index.tz_convert(None) if index.tz is not None else index
    xb = x[::k]
    need, need_peak = _bins(required, k, "mean"), _bins(required, k, "max")
    fig, axes = plt.subplots(
        len(names) + 1,
        1,
        figsize=(12, 2.3 * len(names) + 2.6),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [1] * len(names) + [1.1]},
    )
    top = max(
        float(np.nanmax(need_peak)), *(float(np.max(r.ready + r.booting)) for r in runs.values())
    )
    hours = step_seconds / 3600.0
    cost_ax = axes[-1, 0]
    for ax, name in zip(axes[:-1, 0], names, strict=True):
        run = runs[name]
        billed = (run.ready + run.booting).astype(float)
        ax.fill_between(xb, 0, need, step="post", color="0.82", label="needed for the SLO (mean)")
        ax.step(xb, need_peak, where="post", color="0.45", lw=0.6, label="needed (peak)")
        ax.fill_between(
            xb,
            _bins(billed, k, "min"),
            _bins(billed, k, "max"),
            step="post",
            color="tab:blue",
            alpha=0.25,
            lw=0,
            label="provisioned (min-max)",
        )
        ax.step(
            xb,
            _bins(billed, k, "mean"),
            where="post",
            color="tab:blue",
            lw=1.1,
            label="provisioned (mean)",
        )
        ax.set_ylim(0, top * 1.08)
        ax.set_ylabel("instances")
        viol = ax.twinx()
        share = 100.0 * _bins(run.violated.astype(float), k, "mean")
        width = (xb[1] - xb[0]) if len(xb) > 1 else pd.Timedelta(seconds=step_seconds)
        viol.bar(
            xb,
            share,
            width=width,
            align="edge",
            color="tab:red",
            alpha=0.55,
            lw=0,
            label="SLO violated",
        )
        viol.set_ylim(0, 100)
        viol.set_ylabel("% steps violating", fontsize=7, color="tab:red")
        viol.tick_params(axis="y", labelsize=7, colors="tab:red")
        pct = 100.0 * float(run.violated.mean()) if len(run.violated) else 0.0
        cost = float(billed.sum() * hours * price_per_hour)
        ax.set_title(
            f"{name}: SLO violated in {pct:.2f} % of steps, {billed.sum() * hours:,.0f} instance-hours, cost {cost:,.2f}",
            fontsize=9,
            loc="left",
        )
        handles = ax.get_legend_handles_labels()[0] + viol.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", fontsize=7, ncol=4, framealpha=0.8)
        cost_ax.plot(x, np.cumsum(billed) * hours * price_per_hour, lw=1.2, label=name)
    cost_ax.set_ylabel(f"cumulative cost\n(at {price_per_hour:g} per instance-hour)", fontsize=8)
    cost_ax.set_title("cost over time", fontsize=9, loc="left")
    cost_ax.legend(loc="upper left", fontsize=7, ncol=min(len(names), 6))
    fig.suptitle(f"{title} (bins of {_label(k * step_seconds)})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass(frozen=True)
class PlottedPlacement:
    """One placement policy's VM replay, per judged step."""

    hosts_used: np.ndarray
    hot_hosts: np.ndarray
    vms_affected: np.ndarray


def plot_vm_replay(
    path: Path,
    runs: Mapping[str, PlottedPlacement],
    *,
    step_seconds: float,
    threshold: float,
    hosts: int,
    title: str,
) -> None:
    """Hosts used, hosts above the contention threshold and VMs on them, over time, one
    line per placement policy (aggregated into bins of a round duration)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min((len(r.hosts_used) for r in runs.values()), default=0)
    k = bin_steps(n, step_seconds, max_bins=120)
    hours = np.arange(0, n, k) * step_seconds / 3600.0
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    panels = (
        ("hosts_used", "hosts in use", f"of {hosts}"),
        ("hot_hosts", f"hosts above {threshold:.0%} CPU", "contention"),
        ("vms_affected", "VMs on those hosts", "VMs slowed by neighbours"),
    )
    for ax, (attr, label, note) in zip(axes, panels, strict=True):
        for i, (name, run) in enumerate(runs.items()):
            raw = getattr(run, attr)[:n].astype(float)
            series = _bins(raw, k, "mean")
            mean = float(raw.mean()) if n else 0.0
            ax.step(
                hours,
                series,
                where="post",
                lw=1.2,
                color=f"C{i}",
                label=f"{name} (mean {mean:,.1f})",
            )
        ax.legend(loc="upper right", fontsize=7, ncol=min(len(runs), 4), framealpha=0.85)
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(f"{label} ({note}; mean per bin)", fontsize=9, loc="left")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0, hosts * 1.15)
    axes[-1].set_xlabel("hours since the VMs were placed")
    fig.suptitle(f"{title} (bins of {_label(k * step_seconds)})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)
