"""``autoscaler forecast``: fit a model on a trace and forecast what comes next."""

from __future__ import annotations

from pathlib import Path

import click

from autoscaler.commands.options import SEED
from autoscaler.commands.output_dir import prepare_output, staged_output
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
@click.option("--units", default=None, help="Units of the series, for the plot's axis.")
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
    units: str | None,
    out: str | None,
) -> None:
    """Fit MODEL on the whole trace and print the next HORIZON steps with intervals.

    A model that fails to fit falls back to seasonal naive (then naive), and says so.
    """
    from autoscaler.forecast_plots import plot_forecast
    from autoscaler.forecasters.registry import build_forecaster
    from autoscaler.model import ForecastError
    from autoscaler.registry import default_calibration

    if out is not None:
        prepare_output(out, ["forecast.csv", "forecast.png"])
    trace = read_trace(trace_path, column, step, fill)
    h = parse_horizon(horizon, trace.step)
    qs = parse_quantiles(quantiles)
    try:
        model = build_forecaster(
            kind, trace.step, fallback=True, calibrated=default_calibration(kind), seed=seed
        )
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
            with staged_output(d) as stage:
                frame.to_csv(stage / "forecast.csv", index_label="timestamp")
                plot_forecast(
                    trace.series,
                    fc,
                    stage / "forecast.png",
                    h,
                    step=trace.step,
                    requested=kind,
                    units=units,
                    trace_name=trace.name,
                )
        except OSError as exc:
            raise UserError(f"--out {out}: {exc}") from None
        click.echo(f"wrote {d / 'forecast.csv'} and {d / 'forecast.png'}")


def forecast_frame(fc):
    """The forecast as a table: mean and one ``q<p>`` column per quantile."""
    import pandas as pd

    cols = {"mean": fc.mean}
    cols.update({f"q{q:g}": fc.quantiles[q] for q in sorted(fc.quantiles)})
    return pd.DataFrame(cols, index=pd.DatetimeIndex(fc.index, name="timestamp"))
