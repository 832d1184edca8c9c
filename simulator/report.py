"""Reports of a scaling simulation: a text table, summary.json, timeseries.csv (the plot
is in ``plots``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = (
    ("policy", "{}", "policy"),
    ("slo_violation_pct", "{:.2f}", "SLO viol %"),
    ("dropped_requests", "{:,.0f}", "dropped"),
    ("instance_hours", "{:,.1f}", "inst-hours"),
    ("instance_hours_vs_oracle", "{:.3f}", "vs oracle"),
    ("cost", "{:,.2f}", "cost"),
    ("cost_vs_oracle", "{:.3f}", "cost/oracle"),
    ("mean_utilization", "{:.1%}", "mean util"),
    ("p95_latency_ms", "{:,.1f}", "p95 ms"),
    ("scaling_actions", "{:,}", "actions"),
    ("hosts_used_mean", "{:.1f}", "hosts mean"),
    ("hosts_used_peak", "{:,}", "hosts peak"),
    ("placement_failures", "{:,}", "no host"),
)


def format_table(policies: Mapping[str, Mapping[str, object]]) -> str:
    """One row per policy; columns absent from every row are left out."""
    cols = [c for c in COLUMNS if c[0] == "policy" or any(c[0] in p for p in policies.values())]
    rows = [[title for _, _, title in cols]]
    for name, fig in policies.items():
        row = []
        for key, fmt, _ in cols:
            value = name if key == "policy" else fig.get(key)
            row.append("-" if value is None else fmt.format(value))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_summary(path: Path, summary: Mapping[str, object]) -> None:
    path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_timeseries(
    path: Path,
    index: pd.DatetimeIndex,
    demand: np.ndarray,
    capacity_per_instance: float,
    runs: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    hosts_used: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Per step: demand, and per policy ready/booting instances, capacity and violation;
    ``hosts_used`` (per policy, when the cloud has hosts) adds ``hosts_used_<policy>``,
    the hosts holding at least one instance."""
    cols: dict[str, np.ndarray] = {"demand": np.round(demand, 4)}
    for name, (ready, booting, violated) in runs.items():
        cols[f"{name}_instances"] = ready
        cols[f"{name}_booting"] = booting
        cols[f"{name}_capacity"] = np.round(ready * capacity_per_instance, 4)
        cols[f"{name}_slo_violation"] = violated.astype(np.int8)
        if hosts_used is not None and name in hosts_used:
            cols[f"hosts_used_{name}"] = hosts_used[name]
    df = pd.DataFrame(cols, index=index)
    df.index.name = "timestamp"
    df.to_csv(path, date_format="%Y-%m-%dT%H:%M:%SZ")
