"""A ``train_window`` too short for the model (``config.policy_checks.history_problem``):
the refit reads only that window back, so such a model was never fitted and the
stand-in served forever, with the config reported valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from autoscaler.cli import cli
from autoscaler.config import ConfigError, load_config
from autoscaler.simulation import ScenarioError, build_scenario
from autoscaler.traces import load_trace


def group(tmp_path: Path, forecaster: str, interval: str = "5m") -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(
        "groups:\n"
        "  - name: web\n"
        f"    interval: {interval}\n"
        "    stale_after: 30m\n"
        "    forecaster:\n"
        f"{forecaster}"
    )
    return p


def test_a_train_window_shorter_than_the_models_history_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    # linear's 4h lookback at 5m is 48 points plus the one it extrapolates from: 49
    p = group(tmp_path, "      model: linear\n      train_window: 2h\n")
    with pytest.raises(
        ConfigError,
        match=r"c\.yaml:7: groups\[0\]\.forecaster\.train_window: 2h holds 24 samples 5m "
        r"apart, and linear needs at least 49 to be fitted \(a stand-in would serve "
        r"forever\); set train_window to at least 245m$",
    ):
        load_config(p)
    # the model's own parameters count: a 1h lookback needs 13 samples, 2h holds 24
    p = group(
        tmp_path, "      model: linear\n      train_window: 2h\n      params: {lookback: 1h}\n"
    )
    assert load_config(p).groups[0].forecaster.train_window.total_seconds() == 7200


def test_the_exact_history_is_accepted(tmp_path: Path) -> None:
    p = group(tmp_path, "      model: linear\n      train_window: 245m\n")
    assert load_config(p).groups[0].forecaster.model == "linear"
    # one sample short is refused
    p = group(tmp_path, "      model: linear\n      train_window: 240m\n")
    with pytest.raises(ConfigError, match=r"train_window: 4h holds 48 samples"):
        load_config(p)


def test_check_config_names_the_field_and_exits_2(tmp_path: Path) -> None:
    p = group(tmp_path, "      model: ets\n      train_window: 1h\n")  # 12 of ets's 30
    res = CliRunner().invoke(cli, ["check-config", str(p)])
    assert res.exit_code == 2
    assert res.output.strip() == (
        f"error: {p}:7: groups[0].forecaster.train_window: 1h holds 12 samples 5m apart, "
        "and ets needs at least 30 to be fitted (a stand-in would serve forever); set "
        "train_window to at least 150m"
    )


def test_a_coarser_trace_counts_its_own_samples(tmp_path: Path) -> None:
    # 1h at the 1m interval holds 60 samples (ets needs 30): valid; replayed on a 5m
    # trace the same window holds 12, and the simulation refuses to start
    p = group(tmp_path, "      model: ets\n      train_window: 1h\n", interval="1m")
    cfg = load_config(p)
    trace = tmp_path / "t.csv"
    rows = "".join(
        f"2024-01-01T{m // 12:02d}:{5 * (m % 12):02d}:00Z,{10 + m % 7}\n" for m in range(240)
    )
    trace.write_text("timestamp,value\n" + rows)
    with pytest.raises(
        ScenarioError,
        match=r"^group web: forecaster\.train_window: 1h holds 12 samples 5m apart, and ets "
        r"needs at least 30",
    ):
        build_scenario(load_trace(trace), cfg)
