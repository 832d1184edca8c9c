"""``Trailing.extend``: the window concatenation gives, and windows that never change."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler.forecasters.trailing import Trailing

# one operation: ("add", n new values) or ("reset", n values the owner puts in place)
# or ("restore", k): the owner goes back to the window it held k appends ago
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 25)),
        st.tuples(st.just("reset"), st.integers(0, 25)),
        st.tuples(st.just("restore"), st.integers(1, 4)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(keep=st.integers(1, 12), first=st.integers(0, 30), ops=_ops)
def test_extend_is_concatenation_and_handed_out_windows_stay_as_they_were(keep, first, ops):
    rng = np.random.default_rng(keep * 1000 + first)
    trail = Trailing(keep)
    held = rng.normal(size=first)  # the owner's window, as plain concatenation keeps it
    mine = held
    handed: list[tuple[np.ndarray, np.ndarray]] = []  # (window returned, its values then)
    for op, n in ops:
        if op == "reset":
            held = mine = rng.normal(size=n)
            continue
        if op == "restore":
            if len(handed) >= n:
                mine, frozen = handed[-n]
                held = frozen.copy()
            continue
        new = rng.normal(size=n)
        held = np.concatenate([held, new])[-keep:]
        mine = trail.extend(mine, new)
        assert mine.dtype == np.float64
        np.testing.assert_array_equal(mine, held)
        handed.append((mine, mine.copy()))
    for window, then in handed:  # no later extend wrote into an earlier window
        np.testing.assert_array_equal(window, then)


def test_a_long_run_of_single_appends_wraps_around_and_matches():
    keep = 7
    trail = Trailing(keep)
    window = np.arange(3.0)
    want = window
    for v in range(100):  # many times round the buffer's room
        new = np.array([float(v)])
        window = trail.extend(window, new)
        want = np.concatenate([want, new])[-keep:]
        np.testing.assert_array_equal(window, want)


def test_gaps_are_values_like_any_other():
    trail = Trailing(4)
    window = trail.extend(np.array([1.0, np.nan]), np.array([np.nan, 3.0, 4.0]))
    np.testing.assert_array_equal(window, [np.nan, np.nan, 3.0, 4.0])
    window = trail.extend(window, np.array([np.nan]))
    np.testing.assert_array_equal(window, [np.nan, 3.0, 4.0, np.nan])


def test_integer_input_comes_back_as_floats():
    window = Trailing(3).extend(np.array([1, 2]), np.array([3, 4]))
    assert window.dtype == np.float64
    np.testing.assert_array_equal(window, [2.0, 3.0, 4.0])


def test_keep_must_be_positive():
    with pytest.raises(ValueError, match="keep"):
        Trailing(0)


def test_trailing_for_keeps_a_buffer_of_the_same_length_only() -> None:
    from autoscaler.forecasters.trailing import trailing_for

    kept = Trailing(5)
    assert trailing_for(kept, 5) is kept
    fresh = trailing_for(kept, 6)
    assert fresh is not kept and fresh.keep == 6
    assert trailing_for(None, 3).keep == 3
