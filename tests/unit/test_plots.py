"""What the plots aggregate and how they name models and intervals."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecast_plots import drawn_origins, interval_pairs, model_label, plot_forecast
from autoscaler.model import Forecast
from autoscaler.simulator.plots import PlottedRun, _bins, bin_steps, plot_simulation

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("n", "step", "k"),
    [
        (100, 60, 1),  # short runs are drawn step by step
        (10_080, 60, 60),  # a week of minutes: hourly bins (168)
        (20_160, 60, 120),  # two weeks: 2 h bins
        (83_520, 60, 360),  # 58 days: 3 h gives 464 bins, so 6 h
        (288, 300, 1),
    ],
)
def test_bins_are_round_durations_and_at_most_300(n: int, step: float, k: int) -> None:
    got = bin_steps(n, step)
    assert got == k and np.ceil(n / got) <= 300


def test_a_partial_last_bin_is_not_biased_by_padding() -> None:
    v = np.array([1.0, 1.0, 1.0, 4.0, 4.0])
    assert list(_bins(v, 3, "mean")) == [1.0, 4.0]
    assert list(_bins(v, 3, "max")) == [1.0, 4.0]


def test_model_label_names_the_member_auto_picked() -> None:
    idx = pd.date_range("2026-01-01", periods=2, freq="5min", tz="UTC")
    fc = Forecast(idx, np.ones(2), {}, model="auto", note="weights: mlp 1.00")
    assert model_label(fc, "auto") == "auto → mlp"
    mix = Forecast(idx, np.ones(2), {}, model="ensemble", note="weights: ets 0.60, arima 0.40")
    assert model_label(mix) == "ensemble (ets 0.60, arima 0.40)"
    fell = Forecast(idx, np.ones(2), {}, model="seasonal_naive", note="fallback: ets failed")
    assert model_label(fell, "ets") == "ets → seasonal_naive (fallback: ets failed)"
    assert interval_pairs([0.5, 0.1, 0.9, 0.05, 0.95]) == [(0.05, 0.95), (0.1, 0.9)]
    assert drawn_origins(list(range(20))) == [0, 10, 19]
    assert drawn_origins([1, 2]) == [1, 2]


def test_plots_write_pngs(tmp_path) -> None:
    idx = pd.date_range("2026-01-01", periods=2000, freq="1min", tz="UTC")
    rng = np.random.default_rng(0)
    ready = rng.integers(2, 9, len(idx))
    run = PlottedRun(ready, np.zeros(len(idx), int), rng.random(len(idx)) < 0.02)
    plot_simulation(
        tmp_path / "s.png",
        idx,
        ready - 1,
        {"a": run, "b": run},
        step_seconds=60,
        price_per_hour=0.05,
        title="t",
    )
    assert (tmp_path / "s.png").read_bytes()[:8] == PNG
    hist = pd.Series(
        rng.random(300),
        index=pd.date_range("2026-01-01", periods=300, freq="5min", tz="UTC"),
        name="load",
    )
    fidx = pd.date_range(hist.index[-1] + pd.Timedelta("5min"), periods=12, freq="5min")
    fc = Forecast(fidx, np.ones(12), {0.1: np.zeros(12), 0.9: 2 * np.ones(12)}, model="ets")
    plot_forecast(hist, fc, tmp_path / "f.png", 12, step=timedelta(minutes=5), units="req/s")
    assert (tmp_path / "f.png").read_bytes()[:8] == PNG
