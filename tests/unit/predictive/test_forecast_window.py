"""Reading a forecast over the window a decision is about, whatever the index's resolution."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.model import Forecast, MetricWindow
from autoscaler.policies.forecast_window import cadence, forecast_peak

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
