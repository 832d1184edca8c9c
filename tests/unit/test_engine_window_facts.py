"""The engine's per-tick summaries on their fast path (a window with no gap) give what
the definitions give: the seen window, the newest sample's age, the garbage check and
the action id."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.engine import _sanitize, action_id
from autoscaler.model import Forecast, MetricWindow, WindowSeen

END = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _by_definition(w: MetricWindow) -> tuple[int, int, float, float, timedelta | None]:
    v = w.values
    finite = v[np.isfinite(v)]
    idx = np.flatnonzero(np.isfinite(v))
    age = None if len(idx) == 0 else (len(v) - 1 - int(idx[-1])) * w.step
    mean = float(finite.mean()) if len(finite) else math.nan
    last = float(v[-1]) if len(v) else math.nan
    return len(v), len(v) - len(finite), last, mean, age


def _windows() -> list[MetricWindow]:
    rng = np.random.default_rng(7)
    trace = rng.lognormal(5, 2, 5000)
    out = []
    for _ in range(300):
        n, at = int(rng.integers(1, 200)), int(rng.integers(0, 4000))
        out.append(MetricWindow(END, MIN, trace[at : at + n]))  # a view, as the trace's
        v = rng.normal(100, 60, n) * rng.choice([1e-3, 1.0, 1e7])
        if rng.random() < 0.5:
            v[rng.integers(0, n, size=int(rng.integers(1, n + 1)))] = np.nan
        out.append(MetricWindow(END, MIN, v))
    out += [
        MetricWindow(END, MIN, np.empty(0)),
        MetricWindow(END, MIN, np.array([np.nan, np.nan])),
        MetricWindow(END, MIN, np.array([1e308, 1e308, 5.0])),  # the sum overflows
        MetricWindow(END, MIN, np.array([3.0, np.inf])),
    ]
    return out


@pytest.mark.filterwarnings("ignore:overflow encountered")  # 1e308 + 1e308, both ways
def test_window_seen_and_age_are_the_definitions_bit_for_bit() -> None:
    fc = Forecast(None, np.ones(2), model="level")
    for w in _windows():
        seen = WindowSeen.of(w, fc)
        count, gaps, last, mean, age = _by_definition(w)
        assert (seen.count, seen.gaps, seen.forecast_model) == (count, gaps, "level")
        assert seen.last == last or (math.isnan(seen.last) and math.isnan(last))
        assert seen.mean == mean or (math.isnan(seen.mean) and math.isnan(mean))
        assert w.last_valid_age() == age


@pytest.mark.parametrize(
    ("values", "garbage", "clean"),
    [
        ([1.0, 2.0, 0.0], False, [1.0, 2.0, 0.0]),
        ([1.0, np.nan, 2.0], False, [1.0, np.nan, 2.0]),  # a gap is no garbage
        ([1.0, -0.0, 2.0], False, [1.0, -0.0, 2.0]),
        ([1.0, -2.0, 3.0], True, [1.0, np.nan, 3.0]),
        ([np.inf, 1.0], True, [np.nan, 1.0]),
        ([1e308, 1e308], False, [1e308, 1e308]),  # the sum overflows; the values are fine
        ([], False, []),
    ],
)
def test_garbage_becomes_gaps(values: list[float], garbage: bool, clean: list[float]) -> None:
    w = MetricWindow(END, MIN, np.array(values, dtype=float))
    got, found, finite = _sanitize(w)
    assert found is garbage
    np.testing.assert_array_equal(got.values, np.array(clean, dtype=float))
    if not garbage:
        assert got is w
    # "every sample finite" is what the window's own check says (it is then not redone)
    assert finite is (len(got) > 0 and bool(np.isfinite(got.values).all()))
    if finite:
        assert got.last_valid_age() == timedelta(0)
        assert WindowSeen.of(got, None, finite=True) == WindowSeen.of(got, None)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        datetime(1995, 7, 9, 3, 4, 5, 999_999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(999, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
)
def test_action_id_is_the_strftime_stamp(now: datetime) -> None:
    assert action_id("web", now, 7) == f"web-{now.strftime('%Y%m%dT%H%M%SZ')}-7"
