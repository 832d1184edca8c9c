"""``series_input.on_grid``: when the provider may take a source's history as it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from autoscaler.forecasters.series_input import on_grid

END = datetime(2024, 1, 2, tzinfo=UTC)
STEP = timedelta(minutes=1)


def test_a_regular_grid_ending_at_the_end_is_on_the_grid() -> None:
    assert on_grid(pd.date_range(end=END, periods=30, freq=STEP), END, STEP)


def test_other_ends_steps_gaps_and_naive_times_are_not() -> None:
    regular = pd.date_range(end=END, periods=30, freq=STEP)
    assert not on_grid(regular, END + STEP, STEP)
    assert not on_grid(regular, END, 2 * STEP)
    assert not on_grid(regular.delete(10), END, STEP)  # a hole: pandas drops the freq
    assert not on_grid(
        pd.date_range(end=END.replace(tzinfo=None), periods=30, freq=STEP), END, STEP
    )
    assert not on_grid(pd.DatetimeIndex(list(regular)), END, STEP)  # no freq recorded
