"""``autoscaler forecast`` and ``autoscaler backtest`` end to end, on a real trace slice."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from autoscaler.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_forecast_prints_and_writes_csv_and_png(nab_slice_csv, tmp_path):
    out = tmp_path / "out"
    res = run(
        "forecast",
        "--trace",
        str(nab_slice_csv),
        "--model",
        "ets",
        "--horizon",
        "1h",
        "--quantiles",
        "0.1,0.9",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert "model ets" in res.output
    frame = pd.read_csv(out / "forecast.csv", index_col="timestamp", parse_dates=True)
    assert list(frame.columns) == ["mean", "q0.1", "q0.9"]
    assert len(frame) == 12  # one hour of 5-minute steps
    assert (frame["q0.1"] <= frame["q0.9"]).all()
    assert frame.index[0] == pd.Timestamp("2014-02-17 14:25:00", tz="UTC")
    png = (out / "forecast.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_forecast_horizon_in_steps_and_user_errors(nab_slice_csv):
    res = run("forecast", "--trace", str(nab_slice_csv), "--model", "naive", "--horizon", "3")
    rows = [ln for ln in res.output.splitlines() if ln.startswith("2014-02-17 14:")]
    assert res.exit_code == 0 and len(rows) == 3
    for args, message in [
        (("--horizon", "7m"), "not a whole number of"),
        (("--horizon", "soon"), "neither a number of steps nor a duration"),
        (("--horizon", "3", "--model", "prophet"), "unknown forecaster 'prophet'"),
        (("--horizon", "3", "--quantiles", "0.1,1.5"), "not strictly between 0 and 1"),
    ]:
        res = CliRunner().invoke(cli, ["forecast", "--trace", str(nab_slice_csv), *args])
        assert res.exit_code == 2, res.output
        assert message in res.output and "Traceback" not in res.output


def test_forecast_needs_fill_for_a_trace_with_a_gap(nasa_path):
    res = CliRunner().invoke(
        cli, ["forecast", "--trace", str(nasa_path), "--horizon", "3", "--step", "5m"]
    )
    assert res.exit_code == 2 and "pass --fill" in res.output


def test_backtest_writes_the_summary(nab_slice_csv, tmp_path):
    out = tmp_path / "bt"
    res = run(
        "backtest",
        "--trace",
        str(nab_slice_csv),
        "--models",
        "naive,seasonal_naive,linear",
        "--horizon",
        "15m",
        "--windows",
        "4",
        "--train-window",
        "2d",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"naive", "seasonal_naive", "linear"}
    for scores in summary["models"].values():
        assert set(scores) == {
            "mase",
            "smape",
            "mae",
            "coverage_90",
            "fit_seconds",
            "predict_seconds",
        }
        assert scores["mase"] > 0 and 0 <= scores["coverage_90"] <= 1
    assert summary["horizon_steps"] == 3 and summary["windows"] == 4
    assert summary["train_window_steps"] == 576
    assert "seasonal_naive" in res.output


def test_backtest_rejects_bad_options(nab_slice_csv):
    res = CliRunner().invoke(
        cli, ["backtest", "--trace", str(nab_slice_csv), "--horizon", "3", "--models", "naive,nope"]
    )
    assert res.exit_code == 2 and "unknown forecaster 'nope'" in res.output
    res = CliRunner().invoke(
        cli, ["backtest", "--trace", str(nab_slice_csv), "--horizon", "3", "--train-window", "5m"]
    )
    assert res.exit_code == 2 and "less than two steps" in res.output


def test_the_daemons_default_level_model_runs_in_forecast_and_backtest(nab_slice_csv, tmp_path):
    res = run("forecast", "--trace", str(nab_slice_csv), "--model", "level", "--horizon", "3")
    assert res.exit_code == 0, res.output
    assert "model level" in res.output and "unknown forecaster" not in res.output
    out = tmp_path / "bt"
    args = ["--models", "naive,level", "--horizon", "15m", "--windows", "4", "--out", str(out)]
    res = run("backtest", "--trace", str(nab_slice_csv), *args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"naive", "level"}
    assert summary["models"]["level"]["mase"] > 0
