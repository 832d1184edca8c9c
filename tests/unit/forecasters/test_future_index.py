"""Forecast timestamps sliced from a cached range: the index ``future_index`` builds."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from autoscaler.forecasters.base import _future_index, _slicer
from autoscaler.forecasters.series_input import future_index


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", None])
@pytest.mark.parametrize(
    "step",
    [timedelta(minutes=1), timedelta(seconds=90), timedelta(hours=1), timedelta(milliseconds=250)],
)
def test_forecast_timestamps_sliced_from_a_cached_range_are_future_index(unit, tz, step):
    start = pd.Timestamp("1995-07-01 00:00:30", tz=tz)
    for k in (0, 1, 5, 4000, 9000, -3, 2):  # forward, past the range, back in time
        last = (start + k * pd.Timedelta(step)).as_unit(unit)
        for horizon in (1, 4, 31, 5000):
            got, want = _future_index(last, step, horizon), future_index(last, step, horizon)
            pd.testing.assert_index_equal(got, want, exact=True)
            assert (got.freq, got.unit) == (want.freq, want.unit)


@pytest.mark.parametrize("unit", ["s", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", None])
def test_the_fast_slice_builds_the_index_pandas_slicing_builds(unit, tz):
    times = pd.date_range("2024-03-31 00:00", periods=300, freq="7min", tz=tz, unit=unit)
    sliced = _slicer(times)
    if sliced is None:  # this pandas builds indexes differently: slicing serves
        pytest.skip("the private constructors changed; _future_index slices instead")
    for i, j in ((0, 1), (5, 17), (299, 300), (0, 300)):
        got, want = sliced(i, j), times[i:j]
        pd.testing.assert_index_equal(got, want, exact=True)
        assert (got.freq, got.unit, got.tz, got.name) == (want.freq, want.unit, want.tz, want.name)
        assert got.shift(1).equals(want.shift(1))  # a usable index, not only equal values
