"""Forecast timestamps sliced from a cached range: the index ``future_index`` builds."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from autoscaler.forecasters.base import _future_index
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
