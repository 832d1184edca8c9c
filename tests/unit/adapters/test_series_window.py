from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.adapters.series_window import (
    grid,
    regular_series,
    series_to_window,
    window_grid_start,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_regular_series_places_samples_and_marks_gaps() -> None:
    stamps = [(T0 + k * MIN).timestamp() for k in (0, 1, 3)]
    s = regular_series(stamps, [1.0, 2.0, 4.0], T0, T0 + 4 * MIN, MIN)
    assert list(s.index) == list(pd.date_range(T0, T0 + 4 * MIN, freq=MIN))
    assert str(s.index.tz) == "UTC"
    assert s.iloc[:2].tolist() == [1.0, 2.0]
    assert math.isnan(s.iloc[2]) and s.iloc[3] == 4.0 and math.isnan(s.iloc[4])


def test_regular_series_snaps_unaligned_stamps_and_drops_outsiders() -> None:
    stamps = [(T0 + timedelta(seconds=s)).timestamp() for s in (-60, 10, 65, 300)]
    s = regular_series(stamps, [9.0, 1.0, 2.0, 9.0], T0, T0 + 2 * MIN, MIN)
    assert s.iloc[0] == 1.0 and s.iloc[1] == 2.0 and math.isnan(s.iloc[2])


def test_regular_series_of_nothing_is_all_nan() -> None:
    s = regular_series([], [], T0, T0 + 2 * MIN, MIN)
    assert len(s) == 3 and s.isna().all()


def test_window_ends_at_end_with_span_over_step_points() -> None:
    series = pd.Series(np.arange(10.0), index=grid(T0, T0 + 9 * MIN, MIN))
    w = series_to_window(series, T0 + 9 * MIN, timedelta(minutes=5), MIN)
    assert w.end == T0 + 9 * MIN and w.step == MIN
    assert w.values.tolist() == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert window_grid_start(T0 + 9 * MIN, timedelta(minutes=5), MIN) == T0 + 5 * MIN


def test_window_pads_missing_history_with_nan() -> None:
    series = pd.Series([1.0, 2.0], index=grid(T0 + 3 * MIN, T0 + 4 * MIN, MIN))
    w = series_to_window(series, T0 + 4 * MIN, timedelta(minutes=4), MIN)
    assert np.isnan(w.values[:2]).all() and w.values[2:].tolist() == [1.0, 2.0]
    assert w.last_valid_age() == timedelta(0)


def test_grid_rejects_a_non_positive_step() -> None:
    with pytest.raises(ValueError, match="step must be positive"):
        grid(T0, T0, timedelta(0))
