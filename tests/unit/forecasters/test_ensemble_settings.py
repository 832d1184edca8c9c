"""ensemble's and auto's settings out of range are errors, not clamped into something else."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.registry import build_forecaster
from autoscaler.model import ForecastError

STEP = timedelta(minutes=5)
MEMBERS = ("naive", "level")


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("auto", {"top": 0}, "top must be a whole number >= 1, not 0"),
        ("ensemble", {"top": 2.5}, "top must be a whole number >= 1"),
        ("auto", {"eval_origins": -3}, "eval_origins must be a whole number >= 1"),
        ("auto", {"memory": 0}, "memory must be a whole number >= 1"),
        ("auto", {"memory": True}, "memory must be a whole number >= 1"),
        ("auto", {"margin": 3}, "margin must lie between 0 and 0.5, not 3.0"),
        ("auto", {"margin": -0.1}, "margin must lie between 0 and 0.5"),
        ("auto", {"margin": float("nan")}, "margin must lie between 0 and 0.5"),
        ("auto", {"recent": -1}, "recent must be a finite ratio >= 0"),
        ("auto", {"recent": float("inf")}, "recent must be a finite ratio >= 0"),
        ("auto", {"split": "1h"}, r"split \(12 steps\) must be shorter than eval_horizon \(12\)"),
        ("auto", {"split": 20, "eval_horizon": "1h"}, "must be shorter than eval_horizon"),
        ("ensemble", {"split": 3}, "split apply to auto only"),
        ("ensemble", {"margin": 0.1, "recent": 2}, "recent, margin apply to auto only"),
    ],
)
def test_a_setting_out_of_range_is_an_error(kind: str, settings: dict, message: str) -> None:
    with pytest.raises(ForecastError, match=message):
        build_forecaster(kind, STEP, members=MEMBERS, **settings)


def test_settings_in_range_are_kept_as_given() -> None:
    auto = build_forecaster(
        "auto", STEP, members=MEMBERS, top=2, memory=24, margin=0.5, recent=0, split="10m"
    )
    assert (auto.top, auto.margin, auto.recent, auto.split) == (2, 0.5, 0.0, 2)
    assert auto.decay == pytest.approx(0.5 ** (1 / 24))
    default = build_forecaster("auto", STEP, members=MEMBERS)
    assert (default.recent, default.split, default.margin) == (3.0, 0, 0.0)
    assert build_forecaster("ensemble", STEP, members=MEMBERS, recent=0, margin=0).margin == 0.0


def _drifting_week() -> pd.Series:
    """Seven days of 5-minute points: flat for five, then a climb (ets fitted on the
    first five days finds no trend and a slow level, fitted on all seven a trend)."""
    n = 7 * 288
    rng = np.random.default_rng(3)
    level = np.where(np.arange(n) < 5 * 288, 50.0, 50.0 + 0.05 * (np.arange(n) - 5 * 288))
    idx = pd.date_range("2026-01-05", periods=n, freq="5min", tz="UTC")
    return pd.Series(level + rng.normal(0, 1, n), index=idx)


@pytest.mark.parametrize("kind", ["auto", "ensemble"])
def test_refit_fits_the_members_again_on_the_whole_window(kind: str) -> None:
    y = _drifting_week()
    members = ("naive", "ets")
    alone = build_forecaster("ets", STEP).fit(y).predict_arrays(12, ())[0]
    five_days = build_forecaster("ets", STEP).fit(y.iloc[: 5 * 288])
    updated = five_days.update(y.iloc[5 * 288 :]).predict_arrays(12, ())[0]
    assert not np.allclose(alone, updated)  # the case tells the two apart
    for refit, expected in ((True, alone), (False, updated)):
        model = build_forecaster(kind, STEP, members=members, refit=refit).fit(y)
        np.testing.assert_allclose(model.models["ets"].predict_arrays(12, ())[0], expected)
        assert model.models["ets"]._last == y.index[-1]


def test_refit_must_be_true_or_false() -> None:
    with pytest.raises(ForecastError, match="refit must be true or false, not 'no'"):
        build_forecaster("auto", STEP, members=MEMBERS, refit="no")
