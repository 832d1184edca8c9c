"""Forecast timestamps sliced from a cached range: the index ``future_index`` builds, also
when a ``LazyForecast`` builds it on first read."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.forecast_times import (
    LazyForecast,
    _future_index,
    _slicer,
    future_forecast,
)
from autoscaler.forecasters.series_input import future_index
from autoscaler.model import Forecast
from autoscaler.policies.forecast_window import _origin_and_step


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


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", None])
@pytest.mark.parametrize("step", [timedelta(minutes=1), timedelta(seconds=90), timedelta(hours=1)])
def test_a_lazy_forecast_reads_as_one_built_with_future_index(unit, tz, step):
    start = pd.Timestamp("1995-07-01 00:00:30", tz=tz)
    for k in (0, 3, 9000):
        last = (start + k * pd.Timedelta(step)).as_unit(unit)
        for horizon in (1, 2, 4, 31):
            mean = np.arange(horizon, dtype=float)
            bands = {0.9: mean + 1.0}
            fc = future_forecast(last, step, horizon, mean, bands, "level", "a note")
            want = Forecast(future_index(last, step, horizon), mean, bands, "level", "a note")
            # a range at a coarser unit than pandas' ranges (seconds: theirs are in
            # microseconds) holds none of them: the forecast then comes built
            assert isinstance(fc, LazyForecast) == (unit in ("us", "ns"))
            # where a policy's window starts and its step: from the integers, unbuilt
            ctx = SimpleNamespace(load=SimpleNamespace(step=timedelta(seconds=7)))
            assert _origin_and_step(fc, ctx) == _origin_and_step(want, ctx)
            if isinstance(fc, LazyForecast):
                ticks, got_unit = fc.head_ticks()
                assert ticks == want.index.asi8[:2].tolist() and got_unit == want.index.unit
            pd.testing.assert_index_equal(fc.index, want.index, exact=True)
            assert fc.index is fc.index  # built once
            assert fc.index.freq == want.index.freq
            assert (fc.mean is mean, fc.quantiles is bands, fc.model, fc.note, len(fc)) == (
                True,
                True,
                "level",
                "a note",
                horizon,
            )


def test_copies_of_a_lazy_forecast_carry_their_index():
    last = pd.Timestamp("2024-01-01 12:00", tz="UTC")
    fc = future_forecast(last, timedelta(minutes=5), 3, np.ones(3), {}, "level", "")
    want = future_index(last, timedelta(minutes=5), 3)
    renoted = dataclasses.replace(fc, note="fell back")
    for copy in (renoted, pickle.loads(pickle.dumps(fc))):
        assert copy.head_ticks() is None  # no range of its own: the index is read
        pd.testing.assert_index_equal(copy.index, want, exact=True)
    assert renoted.note == "fell back" and fc.note == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        fc.note = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        fc.no_such_field  # noqa: B018


def test_a_forecast_past_what_a_range_holds_has_its_index_built():
    last = pd.Timestamp("2024-01-01 12:00", tz="UTC")
    fc = future_forecast(last, timedelta(minutes=1), 5000, np.ones(5000), {}, "level", "")
    assert type(fc) is Forecast
    pd.testing.assert_index_equal(fc.index, future_index(last, timedelta(minutes=1), 5000))
