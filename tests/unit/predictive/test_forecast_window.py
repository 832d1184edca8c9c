"""Reading a forecast over the window a decision is about, whatever the index's resolution."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.model import Forecast, MetricWindow
from autoscaler.policies.forecast_window import cadence, forecast_peak, forecast_peaks

from .helpers import NOW, STEP, ctx

VALUES = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_window_is_found_at_every_index_resolution(unit: str) -> None:
    index = pd.date_range(NOW, periods=len(VALUES), freq=STEP).as_unit(unit)
    fc = Forecast(index, np.asarray(VALUES), {0.9: np.asarray(VALUES) * 2})
    c = ctx([100.0], 10, fc=fc)
    # [now + 2 min, now + 3 min) is the third sample only
    peak = forecast_peak(c, None, timedelta(minutes=2), timedelta(minutes=3))
    assert peak is not None
    assert (peak.value, peak.note) == (300.0, "")
    assert forecast_peak(c, 0.9, timedelta(0), timedelta(minutes=2)).value == 400.0


def test_band_scale_stretches_the_distance_from_the_mean() -> None:
    mean = np.asarray(VALUES)
    fc = Forecast(pd.date_range(NOW, periods=6, freq=STEP), mean, {0.9: mean + 50.0})
    c = ctx([100.0], 10, fc=fc)
    window = (timedelta(minutes=1), timedelta(minutes=2))
    assert forecast_peak(c, 0.9, *window, band_scale=2.0).value == 300.0
    assert forecast_peak(c, 0.9, *window, band_scale=0.5).value == 225.0
    # a forecast claiming certainty still gets the floor's share of the mean
    flat = Forecast(fc.index, mean, {0.9: mean})
    c = ctx([100.0], 10, fc=flat)
    assert forecast_peak(c, 0.9, *window, band_scale=2.0, band_floor=0.1).value == 240.0


def test_window_past_the_forecast_uses_its_last_value_and_says_so() -> None:
    fc = Forecast(pd.date_range(NOW, periods=6, freq=STEP), np.asarray(VALUES))
    peak = forecast_peak(ctx([100.0], 10, fc=fc), None, timedelta(hours=1), timedelta(hours=2))
    assert peak.value == 600.0
    assert "ends before the window" in peak.note


def test_cadence_is_the_coarser_of_interval_and_sample_step() -> None:
    c = ctx([100.0], 10)
    assert cadence(c) == c.spec.interval
    coarse = replace(
        c, load=MetricWindow(NOW - timedelta(minutes=5), timedelta(minutes=5), np.ones(3))
    )
    assert cadence(coarse) == timedelta(minutes=5)


def _peaks_short_and_long(mean: np.ndarray, upper: np.ndarray, **band: float) -> tuple:
    """The peaks of a 6-step forecast (read as Python floats) and of the same forecast
    continued to 40 steps (read with numpy), over windows inside the first six."""
    windows = ((timedelta(minutes=1), timedelta(minutes=3)), (timedelta(0), timedelta(minutes=5)))
    out = []
    for n in (6, 40):
        m = np.resize(mean, n)
        u = np.resize(upper, n)
        fc = Forecast(pd.date_range(NOW, periods=n, freq=STEP), m, {0.9: u})
        out.append(forecast_peaks(ctx([100.0], 10, fc=fc), 0.9, windows, **band))
    return tuple(out)


@pytest.mark.parametrize("band", [{}, {"band_scale": 1.7, "band_floor": 0.05, "band_min": 3.0}])
def test_short_and_long_forecasts_give_the_same_peaks(band: dict) -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        mean = rng.uniform(0, 500, 6)
        upper = mean + rng.normal(0, 40, 6)  # some below the mean: the floor holds there
        short, long = _peaks_short_and_long(mean, upper, **band)
        assert short == long


@pytest.mark.parametrize("band", [{}, {"band_scale": 1.7, "band_floor": 0.05, "band_min": 3.0}])
@pytest.mark.parametrize("where", ["mean", "upper"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # numpy's inf - inf
def test_short_and_long_forecasts_agree_on_values_that_are_not_finite(
    band: dict, where: str, bad: float
) -> None:
    mean, upper = np.full(6, 100.0), np.full(6, 150.0)
    (mean if where == "mean" else upper)[4] = bad
    short, long = _peaks_short_and_long(mean, upper, **band)
    assert short == long
    # Without a band only the quantile is read; with one, a quantile of -inf is below
    # the mean and the floor holds: still finite.
    read = where == "upper" if not band else where == "mean" or bad != -np.inf
    assert (short is None) == read
