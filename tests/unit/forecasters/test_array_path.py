"""The array path of the fallback wrapper and the skeleton (the forecast provider's, once
per decision): the same forecasts, notes and fallbacks as the pandas path."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from forecast_data import STEP

from autoscaler.forecasters.baselines import NaiveForecaster
from autoscaler.forecasters.fallback import FallbackForecaster
from autoscaler.forecasters.registry import build_forecaster
from autoscaler.model import ForecastError

QS = (0.5, 0.9, 0.95)


def _same(a, b) -> None:
    pd.testing.assert_index_equal(a.index, b.index, exact=True)
    assert a.index.freq == b.index.freq
    np.testing.assert_array_equal(a.mean, b.mean)
    assert sorted(a.quantiles) == sorted(b.quantiles)
    for q in a.quantiles:
        np.testing.assert_array_equal(a.quantiles[q], b.quantiles[q])
    assert (a.model, a.note) == (b.model, b.note)


@pytest.mark.parametrize("kind", ["level", "naive", "linear"])
def test_update_values_gives_the_pandas_path_forecasts(kind, nab_cpu):
    y = nab_cpu
    pandas_path = build_forecaster(kind, STEP, fallback=True).fit(y.iloc[:300])
    array_path = build_forecaster(kind, STEP, fallback=True).fit(y.iloc[:300])
    for i in range(300, 500):
        pandas_path.update(y.iloc[i : i + 1])
        array_path.update_values(y.to_numpy()[i : i + 1], y.index[i].to_pydatetime())
        if i % 37 == 0 or i == 499:
            _same(array_path.predict(7, QS), pandas_path.predict(7, QS))
    # several points at once, then the general path again: still in step
    pandas_path.update(y.iloc[500:520])
    array_path.update_values(y.to_numpy()[500:520], y.index[519].to_pydatetime())
    pandas_path.update(y.iloc[520:530])
    array_path.update(y.iloc[520:530])
    _same(array_path.predict(5, QS), pandas_path.predict(5, QS))
    pd.testing.assert_series_equal(
        array_path._seen(), pandas_path._seen(), check_freq=False, check_names=False
    )


def test_update_values_off_the_grid_or_with_gaps_takes_the_pandas_path(nab_cpu):
    y = nab_cpu
    model = build_forecaster("level", STEP, fallback=True).fit(y.iloc[:100])
    with pytest.raises(ForecastError, match="expected the next point"):  # a hole
        model.update_values(y.to_numpy()[105:106], y.index[105].to_pydatetime())
    reference = build_forecaster("level", STEP, fallback=True).fit(y.iloc[:100])
    gap = y.iloc[100:103].copy()
    gap.iloc[1] = np.nan
    model.update_values(gap.to_numpy(), gap.index[-1].to_pydatetime())
    reference.update(gap)
    _same(model.predict(3, QS), reference.predict(3, QS))
    assert "filled 1 missing point(s) on update" in model.predict(1).note


class _UpdateBreaks(NaiveForecaster):
    """Fits, then fails at its third update (a fake for a numerical failure)."""

    name = "brittle"

    def _update(self, new):
        self.updates = getattr(self, "updates", 0) + 1
        if self.updates == 3:
            raise ForecastError("brittle failed to update: numerical trouble")


def test_a_failed_array_update_falls_back_on_every_point_seen(nasa_5m):
    y = nasa_5m
    model = FallbackForecaster(_UpdateBreaks(STEP), STEP).fit(y.iloc[:-10])
    reference = FallbackForecaster(_UpdateBreaks(STEP), STEP).fit(y.iloc[:-10])
    for i in range(len(y) - 10, len(y)):
        model.update_values(y.to_numpy()[i : i + 1], y.index[i].to_pydatetime())
        reference.update(y.iloc[i : i + 1])
    a, b = model.predict(3, QS), reference.predict(3, QS)
    assert a.model == "seasonal_naive" and "brittle failed to update" in a.note
    _same(a, b)
    np.testing.assert_array_equal(a.mean, y.to_numpy()[-288:-285])


def test_a_stored_model_keeps_the_points_of_the_array_path(nab_cpu):
    y = nab_cpu
    model = build_forecaster("level", STEP, fallback=True).fit(y.iloc[:200])
    for i in range(200, 230):
        model.update_values(y.to_numpy()[i : i + 1], y.index[i].to_pydatetime())
    copy = pickle.loads(pickle.dumps(model))
    assert "_pending" not in pickle.loads(pickle.dumps(model)).__getstate__()
    assert copy._seen().index[-1] == y.index[229]
    np.testing.assert_array_equal(copy._seen().to_numpy(), y.to_numpy()[:230])
    copy.update_values(y.to_numpy()[230:231], y.index[230].to_pydatetime())
    model.update_values(y.to_numpy()[230:231], y.index[230].to_pydatetime())
    _same(copy.predict(4, QS), model.predict(4, QS))


def test_a_stored_model_holds_no_update_buffers_and_goes_on_as_the_original(nab_cpu):
    """The windows the updates extend in place (``Trailing``) are not stored: the
    restricted loader reads the model back, and it forecasts as the original does."""
    from autoscaler.forecasters.restricted_pickle import dump_model, load_model
    from autoscaler.forecasters.trailing import Trailing

    y = nab_cpu
    model = build_forecaster("level", STEP, fallback=True, season=12).fit(y.iloc[:200])
    for i in range(200, 260):
        model.update_values(y.to_numpy()[i : i + 1], y.index[i].to_pydatetime())
    inner = model.primary
    assert any(isinstance(v, Trailing) for v in vars(inner).values())  # in use
    copy = load_model(dump_model(model))
    assert not any(isinstance(v, Trailing) for v in vars(copy.primary).values())
    np.testing.assert_array_equal(copy.primary._history, inner._history)
    np.testing.assert_array_equal(copy.primary._tail, inner._tail)
    for i in range(260, 300):
        for m in (model, copy):
            m.update_values(y.to_numpy()[i : i + 1], y.index[i].to_pydatetime())
        _same(copy.predict(4, QS), model.predict(4, QS))
