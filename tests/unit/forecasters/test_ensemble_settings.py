"""ensemble's and auto's settings out of range are errors, not clamped into something else."""

from __future__ import annotations

from datetime import timedelta

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
