"""Plots of forecasts (``autoscaler forecast``) and of backtests (``autoscaler backtest``).

Every plot names the model that made the forecast (the member ``auto`` picked, not just
"auto"), the units of the series and what each shaded band is (the central interval
between two quantiles).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.durations import format_duration
from autoscaler.model import Forecast

DRAWN_ORIGINS = 3
BAND = (0.05, 0.95)


def model_label(fc: Forecast, requested: str | None = None) -> str:
    """``auto → mlp`` when a selecting model picked one member, ``ensemble (ets 0.60,
    arima 0.40)`` for a mix, ``naive (fallback: ...)`` when the model fell back."""
    name = fc.model or requested or "?"
    note = fc.note or ""
    weights = re.search(r"weights: ([^;]*)", note)
    if weights:
        members = [m.strip() for m in weights.group(1).split(",") if m.strip()]
        if len(members) == 1:
            label = f"{name} → {members[0].split()[0]}"
        else:
            label = f"{name} ({', '.join(members)})"
    else:
        label = name
    if requested and requested != name and not label.startswith(requested):
        label = f"{requested} → {label}"
    if "fallback" in note or "fell back" in note:
        label += f" ({note.split(';')[0]})"
    return label


def interval_pairs(quantiles: Sequence[float]) -> list[tuple[float, float]]:
    """Symmetric quantile pairs, widest first: (0.05, 0.95), (0.1, 0.9)..."""
    qs = sorted(quantiles)
    return [(lo, hi) for lo, hi in zip(qs, reversed(qs), strict=False) if lo < hi]


def _interval_name(lo: float, hi: float) -> str:
    return f"{(hi - lo) * 100:.0f} % interval (q{lo:g} to q{hi:g})"


def _axis_label(series: pd.Series, units: str | None) -> str:
    name = str(series.name) if series.name is not None else "value"
    return f"{name} [{units or 'trace units'}]"


def plot_forecast(
    history: pd.Series,
    fc: Forecast,
    path: Path,
    horizon: int,
    *,
    step: timedelta,
    requested: str | None = None,
    units: str | None = None,
    trace_name: str = "",
) -> None:
    """History tail, the forecast mean and each central interval, shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tail = history.iloc[-max(4 * horizon, 96) :]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    label = model_label(fc, requested)
    ax.plot(tail.index, tail.to_numpy(), color="0.3", lw=1, label="observed")
    pairs = interval_pairs(list(fc.quantiles))
    for i, (lo, hi) in enumerate(pairs):
        ax.fill_between(
            fc.index,
            fc.quantiles[lo],
            fc.quantiles[hi],
            color="C0",
            alpha=0.15 + 0.12 * i,
            lw=0,
            label=_interval_name(lo, hi),
        )
    paired = {q for p in pairs for q in p}
    for q in sorted(set(fc.quantiles) - paired):
        ax.plot(fc.index, fc.quantiles[q], color="C0", lw=0.8, ls="--", label=f"q{q:g}")
    ax.plot(fc.index, fc.mean, color="C0", lw=1.6, label=f"forecast mean ({label})")
    ax.axvline(tail.index[-1], color="0.6", lw=0.8, ls=":")
    ax.set_ylabel(_axis_label(history, units))
    ax.set_title(
        f"{trace_name}: {label}, {horizon} steps of {format_duration(step)} ahead",
        fontsize=10,
        loc="left",
    )
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def drawn_origins(origins: Sequence[pd.Timestamp], n: int = DRAWN_ORIGINS) -> list[pd.Timestamp]:
    """``n`` origins spread over the backtest's (first, middle, last for three)."""
    if len(origins) <= n:
        return list(origins)
    picks = np.linspace(0, len(origins) - 1, n).round().astype(int)
    return [origins[i] for i in dict.fromkeys(picks)]


def plot_backtest(
    series: pd.Series,
    factories: Mapping[str, Callable[[], Any]],
    origins: Sequence[pd.Timestamp],
    horizon: int,
    train_window: int,
    errors: Mapping[str, Mapping[str, float]],
    path: Path,
    *,
    step: timedelta,
    units: str | None = None,
    trace_name: str = "",
) -> None:
    """Actual against each model's forecast (mean and 90 % interval) at a few origins,
    and each model's error over all origins (``errors[model]``: MASE, sMAPE, coverage).

    The drawn forecasts are refitted here, at the drawn origins, exactly as the backtest
    fitted them there (same factories, same training window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = drawn_origins(origins)
    names = list(factories)
    fig, axes = plt.subplots(
        len(drawn) + 1,
        1,
        figsize=(11, 2.8 * len(drawn) + 2.8),
        squeeze=False,
        gridspec_kw={"height_ratios": [1] * len(drawn) + [0.9]},
    )
    for ax, origin in zip(axes[:-1, 0], drawn, strict=True):
        at = series.index.get_loc(origin)
        train = series.iloc[max(0, at + 1 - train_window) : at + 1]
        context = series.iloc[max(0, at + 1 - 3 * horizon) : at + 1 + horizon]
        ax.plot(context.index, context.to_numpy(), color="0.2", lw=1.2, label="actual")
        ax.axvline(origin, color="0.6", lw=0.8, ls=":")
        for i, name in enumerate(names):
            model = factories[name]()
            model.fit(train)
            fc = model.predict(horizon, BAND)
            actual = series.iloc[at + 1 : at + 1 + horizon].to_numpy()
            mae = float(np.abs(actual - fc.mean[: len(actual)]).mean()) if len(actual) else np.nan
            ax.plot(
                fc.index,
                fc.mean,
                color=f"C{i}",
                lw=1.2,
                label=f"{model_label(fc, name)} (MAE {mae:.3g})",
            )
            ax.fill_between(
                fc.index,
                fc.quantiles[BAND[0]],
                fc.quantiles[BAND[1]],
                color=f"C{i}",
                alpha=0.12,
                lw=0,
            )
        ax.set_title(
            f"origin {origin:%Y-%m-%d %H:%M}; shaded: 90 % interval (q0.05 to q0.95)",
            fontsize=9,
            loc="left",
        )
        ax.set_ylabel(_axis_label(series, units), fontsize=8)
        ax.legend(loc="upper left", fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    bars = axes[-1, 0]
    x = np.arange(len(names))
    mase = [errors[n]["mase"] for n in names]
    bars.bar(x, mase, color=[f"C{i}" for i in range(len(names))])
    for xi, n in zip(x, names, strict=True):
        e = errors[n]
        bars.text(
            xi,
            e["mase"],
            f"MASE {e['mase']:.2f}\nsMAPE {e['smape']:.1f} %\ncov90 {e['coverage_90']:.2f}",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    bars.axhline(1.0, color="0.5", lw=0.8, ls="--")
    bars.set_xticks(x, names)
    bars.set_ylabel("MASE over all origins\n(1 = seasonal naive in-sample)", fontsize=8)
    bars.set_ylim(0, max(max(mase), 1.0) * 1.45)
    bars.set_title(f"error per model over {len(origins)} origins", fontsize=9, loc="left")
    fig.suptitle(
        f"{trace_name}: backtest, {horizon} steps of {format_duration(step)} ahead, "
        f"trained on the last {train_window} steps at each origin",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=100)
    plt.close(fig)
