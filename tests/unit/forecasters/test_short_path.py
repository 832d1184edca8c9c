"""Short forecasts checked on Python floats (``short_path``) give the array path's
arrays to the bit: the level model's own floats, any model's converted ones, signed
zeros, non-finite bands, and the same errors."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.level import LevelForecaster
from autoscaler.forecasters.short_path import np_fmax, np_maximum, np_minimum
from autoscaler.model import ForecastError

MIN = timedelta(minutes=1)
QS = ((0.5, 0.9, 0.95), (0.1, 0.5, 0.9), (0.05, 0.25), (0.9,), (0.5,))
EDGES = (0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf)


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=float).tobytes()


def _same(short, full) -> None:
    (m1, b1), (m2, b2) = short, full
    assert _bits(m1) == _bits(m2)
    assert list(b1) == list(b2)
    for q in b1:
        assert _bits(b1[q]) == _bits(b2[q]), q


def _both(model: BaseForecaster, horizon: int, qs: tuple[float, ...]):
    """(the short path's result or error, the array path's)."""
    out = []
    for limit in (BaseForecaster.short_horizon, 0):
        model.short_horizon = limit  # 0: every horizon takes the array path
        try:
            out.append(model.predict_arrays(horizon, qs))
        except ForecastError as exc:
            out.append(str(exc))
    del model.short_horizon
    return out


def test_the_float_rules_are_numpys_on_every_pair_of_edge_values():
    for a in EDGES:
        for b in EDGES:
            for mine, theirs in (
                (np_maximum, np.maximum),
                (np_minimum, np.minimum),
                (np_fmax, np.fmax),
            ):
                want = theirs(np.array([a]), np.array([b]))
                assert _bits(np.array([mine(a, b)])) == _bits(want), (mine.__name__, a, b)


@pytest.mark.parametrize("bands", ["local", "relative", "absolute"])
@pytest.mark.parametrize("season", ["auto", 5, None])
def test_the_level_models_floats_give_its_arrays(bands, season):
    rng = np.random.default_rng(7)
    # bursts, zeros (clipped bands, ties at zero) and a recurring spike every 5 steps
    y = np.maximum(rng.normal(3, 2, 400), 0) * (rng.random(400) < 0.8)
    y[::5] += 9
    index = pd.date_range("2024-01-01", periods=400, freq=MIN)
    model = LevelForecaster(MIN, bands=bands, season=season).fit(pd.Series(y[:300], index[:300]))
    for i in range(300, 400):
        model.update_values(y[i : i + 1])
        for qs in QS:
            for horizon in (1, 4, 7, 16):
                short, full = _both(model, horizon, qs)
                _same(short, full)


class _Given(BaseForecaster):
    """Predicts the mean and bands it is given (a fake model)."""

    name = "given"

    def __init__(self, mean, bands) -> None:
        super().__init__(MIN)
        self.given = (np.array(mean, dtype=float), bands)

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _predict(self, horizon, quantiles):
        return self.given


def _given(mean, bands, history=(1.0, 2.0, 1.5)) -> _Given:
    y = pd.Series(history, index=pd.date_range("2024-01-01", periods=len(history), freq=MIN))
    return _Given(mean, bands).fit(y)


def test_any_models_bands_take_the_same_checks_edge_values_included():
    rng = np.random.default_rng(3)
    for _ in range(300):
        mean = rng.choice([0.0, -0.0, 1.0, 2.0, -1.0, 0.5], 3)
        rows = rng.choice((*EDGES, 0.5, 2.0, 3.0), (3, 3))
        as_dict = rng.random() < 0.5
        bands = dict(zip((0.1, 0.5, 0.9), rows, strict=True)) if as_dict else rows
        history = (1.0, 2.0, 1.5) if rng.random() < 0.5 else (1.0, -2.0, 1.5)
        short, full = _both(_given(mean, bands, history), 3, (0.1, 0.5, 0.9))
        if isinstance(full, str):
            assert short == full
        else:
            _same(short, full)


@pytest.mark.parametrize(
    "mean, message",
    [([1.0, np.nan], "invalid forecast"), ([1.0, 1e9], "implausible forecast (beyond")],
)
def test_an_unusable_mean_is_refused_as_by_the_array_path(mean, message):
    short, full = _both(_given(mean, np.ones((1, 2))), 2, (0.9,))
    assert short == full and message in short
    with pytest.raises(ForecastError, match="invalid forecast"):
        _given([1.0, 2.0, 3.0], np.ones((1, 2))).predict_arrays(2, (0.9,))  # misshapen


def test_a_short_forecast_builds_its_arrays_only_when_read_and_they_are_the_array_paths():
    import dataclasses
    import pickle

    from autoscaler.model import Forecast

    rng = np.random.default_rng(5)
    index = pd.date_range("2024-01-01", periods=200, freq=MIN)
    y = pd.Series(np.maximum(rng.normal(5, 2, 200), 0), index)
    model = LevelForecaster(MIN).fit(y)
    qs = (0.5, 0.9, 0.95)
    fc = model.predict(4, qs)
    unbuilt = Forecast.__dict__["mean"]  # the slot itself, without the lazy build
    mean, q95 = fc.short_floats(0.95)
    assert len(fc) == 4 and fc.short_floats(0.93)[1] == q95
    assert fc.short_floats(None) == (mean, mean)
    with pytest.raises(AttributeError):
        unbuilt.__get__(fc, type(fc))
    want_mean, want = model.predict_arrays(4, qs)
    copy = dataclasses.replace(fc, note="x")  # reads (builds) every field
    assert _bits(unbuilt.__get__(fc, type(fc))) == _bits(want_mean) == _bits(np.array(mean))
    assert _bits(fc.quantile(0.95)) == _bits(want[0.95]) == _bits(np.array(q95))
    assert list(fc.quantiles) == list(qs) and copy.note == "x"
    assert _bits(copy.quantiles[0.5]) == _bits(want[0.5])
    again = pickle.loads(pickle.dumps(fc))
    assert _bits(again.quantiles[0.9]) == _bits(want[0.9]) and len(again) == 4
