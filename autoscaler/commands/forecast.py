"""``autoscaler forecast``: fit a model on a trace and forecast what comes next."""

from __future__ import annotations

from pathlib import Path

import click

from autoscaler.commands.options import SEED
from autoscaler.commands.output_dir import prepare_output
from autoscaler.commands.trace_input import (
    parse_horizon,
    parse_quantiles,
    read_trace,
    trace_options,
)
from autoscaler.errors import UserError


@click.command("forecast")
@trace_options
@click.option("--model", "kind", default="auto", show_default=True, help="Forecaster kind.")
@click.option(
    "--horizon",
    required=True,
    help="How far ahead: steps (12) or a duration that is whole steps (1h).",
)
@click.option("--quantiles", default="0.1,0.5,0.9", show_default=True, help="Interval quantiles.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed for the neural models.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory for forecast.csv and forecast.png.",
)
def forecast(
    trace_path: str,
    column: str | None,
    step: str | None,
    fill: str | None,
    kind: str,
    horizon: str,
    quantiles: str,
    seed: int,
    out: str | None,
) -> None:
    """Fit MODEL on the whole trace and print the next HORIZON steps with intervals.

    A model that fails to fit falls back to seasonal naive (then naive), and says so.
    """
    from autoscaler.forecasters.registry import build_forecaster
    from autoscaler.model import ForecastError

    if out is not None:
        prepare_output(out, ["forecast.csv", "forecast.png"])
    trace = read_trace(trace_path, column, step, fill)
    h = parse_horizon(horizon, trace.step)
    qs = parse_quantiles(quantiles)
    try:
        model = build_forecaster(kind, trace.step, fallback=True, seed=seed)
        model.fit(trace.series)
        fc = model.predict(h, qs)
    except ForecastError as exc:
        raise UserError(f"{trace_path}: {exc}") from None

    frame = forecast_frame(fc)
    made_by = fc.model + (f" ({fc.note})" if fc.note else "")
    click.echo(
        f"{trace.name}: {len(trace)} points at {trace.step}, last {trace.series.index[-1]}; "
        f"model {made_by}"
    )
    click.echo(frame.to_string(float_format=lambda v: f"{v:.4g}"))
    if out is not None:
        d = Path(out)
        try:
            d.mkdir(parents=True, exist_ok=True)
            frame.to_csv(d / "forecast.csv", index_label="timestamp")
            plot_forecast(trace.series, fc, d / "forecast.png", h)
        except OSError as exc:
            raise UserError(f"--out {out}: {exc}") from None
        click.echo(f"wrote {d / 'forecast.csv'} and {d / 'forecast.png'}")


def forecast_frame(fc):
    """The forecast as a table: mean and one ``q<p>`` column per quantile."""
    import pandas as pd

    cols = {"mean": fc.mean}
    cols.update({f"q{q:g}": fc.quantiles[q] for q in sorted(fc.quantiles)})
    return pd.DataFrame(cols, index=pd.DatetimeIndex(fc.index, name="timestamp"))


def plot_forecast(history, fc, path: Path, horizon: int) -> None:
    """History tail, forecast mean and the widest quantile band, shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tail = history.iloc[-max(4 * horizon, 96) :]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(tail.index, tail.to_numpy(), color="0.3", lw=1, label="history")
    ax.plot(fc.index, fc.mean, color="C0", lw=1.5, label=f"forecast ({fc.model})")
    qs = sorted(fc.quantiles)
    pairs = [(lo, hi) for lo, hi in zip(qs, reversed(qs), strict=False) if lo < hi]
    for i, (lo, hi) in enumerate(pairs):
        ax.fill_between(
            fc.index,
            fc.quantiles[lo],
            fc.quantiles[hi],
            color="C0",
            alpha=0.15 + 0.1 * i,
            lw=0,
            label=f"{lo:g}-{hi:g}",
        )
    ax.set_ylabel(history.name or "value")
    ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
