"""Rolling-origin backtests: where the origins go and what the metrics mean."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from forecast_data import STEP

from autoscaler.forecasters.backtest import mase_scale, origin_positions, run_backtest, smape
from autoscaler.forecasters.baselines import NaiveForecaster
from autoscaler.forecasters.intervals import empirical_bands
from autoscaler.model import Forecast, ForecastError


def test_origins_are_spread_over_the_last_fifth():
    pos = origin_positions(1000, 12, 10)
    assert len(pos) == 10
    assert pos[0] == 799 and pos[-1] == 1000 - 12 - 1
    assert (np.diff(pos) > 0).all()
    assert len(origin_positions(1000, 12, 500)) == 1000 - 12 - 799
    with pytest.raises(ForecastError, match="too short"):
        origin_positions(10, 12, 3)


class _Oracle:
    """Knows the whole series: a forecaster that is never wrong (a fake, passed in)."""

    name = "oracle"

    def __init__(self, y):
        self.y = y

    def fit(self, train):
        self.last = train.index[-1]
        return self

    def predict(self, horizon, quantiles=()):
        future = self.y[self.y.index > self.last].iloc[:horizon]
        v = future.to_numpy()
        return Forecast(future.index, v, {q: v for q in quantiles}, model="oracle")


def test_a_perfect_forecaster_scores_zero(nab_cpu):
    res = run_backtest(nab_cpu, STEP, {"oracle": partial(_Oracle, nab_cpu)}, [3, 12], windows=5)
    for h in (3, 12):
        s = res.scores[h]["oracle"]
        assert s.mase == 0 and s.mae == 0 and s.smape == 0 and s.coverage_90 == 1
        assert s.origins == 5


def test_naive_metrics_match_a_hand_computation(nab_cpu):
    y = nab_cpu
    res = run_backtest(
        y, STEP, {"naive": partial(NaiveForecaster, STEP)}, [6], windows=4, train_window=400
    )
    v = y.to_numpy()
    maes, mases, covs = [], [], []
    for o in origin_positions(len(v), 6, 4):
        train = v[max(0, o + 1 - 400) : o + 1]
        actual = v[o + 1 : o + 7]
        mae = np.abs(actual - v[o]).mean()
        maes.append(mae)
        mases.append(mae / np.abs(train[288:] - train[:-288]).mean())
        bands = empirical_bands(
            np.full(6, v[o]), [train[h:] - train[:-h] for h in range(1, 7)], (0.05, 0.95)
        )
        covs.append(((actual >= bands[0.05]) & (actual <= bands[0.95])).mean())
    s = res.scores[6]["naive"]
    assert s.mae == pytest.approx(np.mean(maes))
    assert s.mase == pytest.approx(np.mean(mases))
    assert s.coverage_90 == pytest.approx(np.mean(covs))
    assert s.fit_seconds >= 0 and s.predict_seconds > 0


def test_scale_and_smape_edge_cases():
    assert mase_scale(np.array([1.0, 2.0, 4.0]), season=288) == pytest.approx(1.5)
    assert np.isnan(mase_scale(np.ones(400), season=288))
    assert smape(np.zeros(3), np.zeros(3)) == 0
    assert smape(np.array([1.0]), np.array([3.0])) == pytest.approx(100.0)
