"""The contract every forecaster kind keeps, on real load slices."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pandas as pd
import pytest
from forecast_data import FAST_PARAMS, STEP

from autoscaler.forecasters.registry import KNOWN_KINDS, build_forecaster
from autoscaler.forecasters.store import ModelStore
from autoscaler.model import ForecastError

QS = (0.05, 0.5, 0.95)


def make(kind: str, **extra):
    return build_forecaster(kind, STEP, seed=7, **FAST_PARAMS.get(kind, {}), **extra)


@pytest.fixture(scope="module", params=KNOWN_KINDS)
def fitted(request, nab_cpu):
    model = make(request.param).fit(nab_cpu.iloc[:-24])
    return request.param, model


def test_shapes_index_and_monotone_quantiles(fitted, nab_cpu):
    kind, model = fitted
    fc = model.predict(12, QS)
    train_last = nab_cpu.index[-25]
    assert fc.model == kind
    assert len(fc) == 12 and fc.mean.shape == (12,)
    assert set(fc.quantiles) == set(QS)
    assert fc.index[0] == train_last + STEP
    assert (np.diff(fc.index.asi8) == pd.Timedelta(STEP).value).all()
    assert np.isfinite(fc.mean).all()
    for lo, hi in itertools.pairwise(QS):
        assert (fc.quantiles[lo] <= fc.quantiles[hi]).all()
    # The band brackets the mean at every step.
    assert (fc.quantiles[0.05] <= fc.mean).all() and (fc.mean <= fc.quantiles[0.95]).all()
    # Intervals are real intervals, not a point: the 90% band has width somewhere.
    assert (fc.quantiles[0.95] - fc.quantiles[0.05]).max() > 0
    # CPU utilisation is non-negative, and so is its forecast.
    assert fc.quantiles[0.05].min() >= 0


def test_update_moves_the_origin(fitted, nab_cpu):
    _, model = fitted
    m = copy.deepcopy(model)
    m.update(nab_cpu.iloc[-24:-12])
    fc = m.predict(6, QS)
    assert fc.index[0] == nab_cpu.index[-12]
    assert np.isfinite(fc.mean).all()


def test_same_seed_same_forecast(fitted, nab_cpu):
    kind, model = fitted
    again = make(kind).fit(nab_cpu.iloc[:-24])
    np.testing.assert_array_equal(again.predict(12, QS).mean, model.predict(12, QS).mean)


def test_store_round_trip_gives_identical_predictions(fitted, tmp_path):
    kind, model = fitted
    store = ModelStore(tmp_path)
    meta = store.save(kind, model)
    loaded, meta2 = store.load(kind)
    assert meta2 == meta and meta.kind == kind
    a, b = model.predict(12, QS), loaded.predict(12, QS)
    np.testing.assert_array_equal(a.mean, b.mean)
    for q in QS:
        np.testing.assert_array_equal(a.quantiles[q], b.quantiles[q])


@pytest.mark.parametrize("kind", KNOWN_KINDS)
def test_constant_series_forecasts_the_constant(kind, nab_cpu):
    y = pd.Series(42.0, index=nab_cpu.index[:600])
    fc = make(kind).fit(y).predict(6, QS)
    np.testing.assert_allclose(fc.mean, 42.0, rtol=0.02)
    assert fc.quantiles[0.05].min() <= fc.mean.min() and fc.quantiles[0.95].max() >= fc.mean.max()


@pytest.mark.parametrize("kind", KNOWN_KINDS)
def test_too_short_history_is_a_clear_error(kind, nab_cpu):
    model = make(kind)
    y = nab_cpu.iloc[: max(1, model.min_history - 1)]
    with pytest.raises(ForecastError, match="needs at least"):
        model.fit(y)


@pytest.mark.parametrize("kind", ["naive", "seasonal_naive", "linear", "ets", "arima", "mlp"])
def test_gaps_and_outliers_do_not_break_fitting(kind, nasa_5m):
    y = nasa_5m.copy()
    y.iloc[300:320] = np.nan  # a real-looking outage
    y.iloc[500] = y.max() * 50  # a wild outlier
    y.iloc[-3:] = np.nan  # the newest points not yet reported
    model = make(kind).fit(y)
    fc = model.predict(12, QS)
    assert np.isfinite(fc.mean).all()
    assert "filled 23 missing point(s)" in fc.note
