"""``autoscaler backtest``: rolling-origin evaluation of forecasters on a trace."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import click

from autoscaler.commands.options import SEED
from autoscaler.commands.output_dir import prepare_output, staged_output
from autoscaler.commands.trace_input import parse_horizon, read_trace, trace_options
from autoscaler.durations import parse_duration
from autoscaler.errors import UserError

DEFAULT_MODELS = "naive,seasonal_naive,linear,ets,arima,auto"


@click.command("backtest")
@trace_options
@click.option("--models", default=DEFAULT_MODELS, show_default=True, help="Comma-separated kinds.")
@click.option("--horizon", required=True, help="Steps (12) or a duration of whole steps (1h).")
@click.option(
    "--windows",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many forecast origins, spread over the last 20% of the trace.",
)
@click.option(
    "--train-window",
    default="7d",
    show_default=True,
    help="Trailing training window at each origin (duration or steps).",
)
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--units", default=None, help="Units of the series, for the plot's axis.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory for summary.json and backtest.png.",
)
def backtest(
    trace_path: str,
    column: str | None,
    step: str | None,
    fill: str | None,
    models: str,
    horizon: str,
    windows: int,
    train_window: str,
    seed: int,
    units: str | None,
    out: str | None,
) -> None:
    """Score MODELS on the trace: MASE, sMAPE, MAE, 90% interval coverage, fit/predict time.

    Each model is refitted at every origin; one that fails there falls back to
    seasonal naive (counted in the "fallbacks" column).
    """
    from autoscaler.forecasters.backtest import run_backtest
    from autoscaler.forecasters.registry import build_forecaster, forecaster_class
    from autoscaler.model import ForecastError
    from autoscaler.registry import default_calibration

    if out is not None:
        prepare_output(out, ["summary.json", "backtest.png"])
    trace = read_trace(trace_path, column, step, fill)
    h = parse_horizon(horizon, trace.step)
    kinds = [m.strip() for m in models.split(",") if m.strip()]
    if not kinds:
        raise UserError("--models: give at least one model")
    train = _train_steps(train_window, trace.step)
    try:
        for k in kinds:
            forecaster_class(k)
        factories = {
            k: partial(
                build_forecaster,
                k,
                trace.step,
                fallback=True,
                calibrated=default_calibration(k),
                seed=seed,
            )
            for k in kinds
        }
        from tqdm import tqdm

        from autoscaler.forecasters.backtest import origin_positions

        n_origins = len(origin_positions(len(trace), h, windows))
        with tqdm(
            total=n_origins * len(kinds),
            desc="backtest",
            unit="fit",
            disable=not sys.stderr.isatty(),
            file=sys.stderr,
        ) as bar:
            result = run_backtest(
                trace.series,
                trace.step,
                factories,
                [h],
                windows=windows,
                train_window=train,
                progress=bar.update,
            )
    except ForecastError as exc:
        raise UserError(f"{trace_path}: {exc}") from None

    scores = result.scores[h]
    click.echo(
        f"{trace.name}: {len(trace)} points at {trace.step}; horizon {h} steps; "
        f"{len(result.origins)} origins; train window {train} steps"
    )
    header = f"{'model':<16}{'MASE':>8}{'sMAPE%':>9}{'MAE':>11}{'cov90':>7}{'fit s':>9}{'pred ms':>9}{'fallbk':>8}"
    click.echo(header)
    for k in kinds:
        s = scores[k]
        click.echo(
            f"{k:<16}{s.mase:>8.3f}{s.smape:>9.2f}{s.mae:>11.4g}{s.coverage_90:>7.2f}"
            f"{s.fit_seconds:>9.3f}{s.predict_seconds * 1000:>9.2f}{s.fallbacks:>8d}"
        )
    if out is not None:
        summary = {
            "trace": trace.name,
            "step_seconds": trace.step.total_seconds(),
            "horizon_steps": h,
            "windows": len(result.origins),
            "train_window_steps": train,
            "origins": [str(t) for t in result.origins],
            "models": {k: scores[k].as_dict() for k in kinds},
        }
        d = Path(out)
        try:
            with staged_output(d) as stage:
                text = json.dumps(summary, indent=2) + "\n"
                (stage / "summary.json").write_text(text, encoding="utf-8")
                plot = stage / "backtest.png"
                _plot(trace, factories, result, h, train, summary["models"], plot, units)
        except OSError as exc:
            raise UserError(f"--out {out}: {exc}") from None
        click.echo(f"wrote {d / 'summary.json'} and {d / 'backtest.png'}")


def _plot(trace, factories, result, h: int, train: int, errors, path: Path, units) -> None:
    """``backtest.png`` on the series the backtest scored (gaps filled the same way)."""
    import pandas as pd

    from autoscaler.forecast_plots import plot_backtest
    from autoscaler.forecasters.series_input import clean_series

    clean = clean_series(trace.series, trace.step)
    index = pd.date_range(clean.start, periods=len(clean.values), freq=trace.step)
    series = pd.Series(clean.values, index=index, name=trace.series.name)
    plot_backtest(
        series,
        factories,
        list(result.origins),
        h,
        train,
        errors,
        path,
        step=trace.step,
        units=units,
        trace_name=trace.name,
    )


def _train_steps(text: str, step) -> int:
    s = text.strip()
    if s.isdigit() and int(s) > 0:
        return int(s)
    try:
        d = parse_duration(s)
    except ValueError as exc:
        raise UserError(f"--train-window: {exc}") from None
    n = int(d // step)
    if n < 2:
        raise UserError(f"--train-window {text} is less than two steps of {step}")
    return n
