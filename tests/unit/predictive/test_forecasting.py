"""The retraining forecast provider and the built-in persistence/level forecaster."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasting import PersistenceForecaster, RetrainingForecastProvider
from autoscaler.model import Forecast, ForecastError, MetricWindow

from .helpers import NOW, SPEC, STEP


class LinearFake:
    """A tiny injected forecaster: a least-squares line, counting fits and updates."""

    name = "linear-fake"
    min_history = 5

    def __init__(self, fail_fit: bool = False, fail_predict: bool = False) -> None:
        self.fail_fit, self.fail_predict = fail_fit, fail_predict
        self.fit_lengths: list[int] = []
        self.updates: list[int] = []
        self.y = pd.Series(dtype=float)

    def fit(self, y: pd.Series) -> LinearFake:
        if self.fail_fit:
            raise ForecastError("singular matrix")
        self.fit_lengths.append(len(y))
        self.y = y
        return self

    def update(self, y: pd.Series) -> LinearFake:
        self.updates.append(len(y))
        self.y = pd.concat([self.y, y])
        return self

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        if self.fail_predict:
            raise RuntimeError("boom")
        v = self.y.to_numpy()
        slope, icpt = np.polyfit(np.arange(len(v)), v, 1)
        mean = icpt + slope * np.arange(len(v), len(v) + horizon)
        idx = pd.date_range(self.y.index[-1] + STEP, periods=horizon, freq=STEP)
        return Forecast(idx, mean, {q: mean for q in quantiles}, model=self.name)


def ramp(n_total: int = 200) -> np.ndarray:
    return 100.0 + 2.0 * np.arange(n_total)


def drive(provider: RetrainingForecastProvider, values: np.ndarray, start: int, stop: int):
    """Call the provider once a step with a 30-sample window, as the engine does."""
    out = None
    for i in range(start, stop):
        now = NOW + i * STEP
        window = MetricWindow(now - STEP, STEP, values[max(0, i - 30) : i])
        out = provider.forecast(SPEC, window, now)
    return out


def test_refits_every_retrain_and_updates_in_between() -> None:
    fakes: list[LinearFake] = []

    def make(step: timedelta) -> LinearFake:
        fakes.append(LinearFake())
        return fakes[-1]

    provider = RetrainingForecastProvider(
        make, retrain=timedelta(minutes=20), train_window=timedelta(minutes=50)
    )
    values = ramp()
    fc = drive(provider, values, 10, 70)
    # fits at minutes 10, 30, 50; each on the trailing history it kept (capped at 50)
    assert [f.fit_lengths for f in fakes] == [[10], [30], [50]]
    assert fakes[-1].updates == [1] * 19
    assert fc.model == "linear-fake" and fc.note == ""
    # a line fitted to a line: the next value is exact, at the right time
    assert fc.index[0] == NOW + 69 * STEP
    assert fc.mean[0] == pytest.approx(values[69])
    # horizon: at least boot delay + two intervals, else the configured 30 minutes
    assert len(fc) == 30


@pytest.mark.parametrize(
    ("make", "note"),
    [
        (lambda step: LinearFake(fail_fit=True), "fit failed: ForecastError: singular matrix"),
        (lambda step: LinearFake(fail_predict=True), "predict failed: RuntimeError: boom"),
        (lambda step: (_ for _ in ()).throw(ValueError("no such model 'x'")), "model unavailable"),
    ],
)
def test_falls_back_to_naive_with_the_reason(make, note: str) -> None:
    provider = RetrainingForecastProvider(make, retrain=timedelta(hours=1))
    values = ramp()
    fc = drive(provider, values, 10, 40)
    assert fc.model == "naive"
    assert note in fc.note
    assert fc.note.startswith("fallback to naive: ")
    assert fc.mean[0] == values[38]  # naive: the last value seen


def test_too_little_history_for_the_model() -> None:
    provider = RetrainingForecastProvider(lambda step: LinearFake(), retrain=timedelta(hours=1))
    fc = drive(provider, ramp(), 3, 4)  # 3 samples, the model needs 5
    assert fc.model == "naive"
    assert "linear-fake needs 5 samples, has 3" in fc.note


def test_empty_window_gives_none_and_gap_restarts_history() -> None:
    provider = RetrainingForecastProvider(lambda step: LinearFake(), retrain=timedelta(hours=1))
    assert provider.forecast(SPEC, MetricWindow(NOW, STEP, np.empty(0)), NOW) is None
    values = ramp(400)
    drive(provider, values, 10, 20)
    # the next call comes 3 hours later: more than the window, so history restarts and refits
    fc = drive(provider, values, 200, 201)
    assert provider.fits == 2
    assert fc.mean[0] == pytest.approx(values[200])


def test_nan_gaps_do_not_reach_the_model() -> None:
    fake = LinearFake()
    provider = RetrainingForecastProvider(lambda step: fake, retrain=timedelta(hours=1))
    values = ramp()
    values[15] = np.nan
    values[25] = np.nan
    drive(provider, values, 20, 30)
    assert not fake.y.isna().any()


def test_persistence_bands_monotone_and_scaled_by_level() -> None:
    rng = np.random.default_rng(0)
    y = pd.Series(
        200.0 * rng.lognormal(0, 0.2, 500), index=pd.date_range(NOW, periods=500, freq=STEP)
    )
    f = PersistenceForecaster(STEP, bands="relative").fit(y)
    fc = f.predict(10, (0.95, 0.5, 0.9))
    assert (fc.quantile(0.5) <= fc.quantile(0.9)).all()
    assert (fc.quantile(0.9) <= fc.quantile(0.95)).all()
    assert (fc.mean == y.iloc[-1]).all()
    # the 95 % band holds about 95 % of one-step-ahead outcomes in this history
    ratio = fc.quantile(0.95)[0] / y.iloc[-1]
    rel = y.to_numpy()[1:] / y.to_numpy()[:-1]
    assert np.mean(rel <= ratio) == pytest.approx(0.95, abs=0.01)
    doubled = (
        PersistenceForecaster(STEP, bands="relative")
        .fit(y)
        .update(pd.Series([2 * y.iloc[-1]], index=[y.index[-1] + STEP]))
    )
    assert doubled.predict(10, (0.9,)).quantile(0.9) == pytest.approx(2 * fc.quantile(0.9))


def test_absolute_bands_do_not_scale_with_level() -> None:
    rng = np.random.default_rng(1)
    y = pd.Series(200.0 + rng.normal(0, 20, 500), index=pd.date_range(NOW, periods=500, freq=STEP))
    f = PersistenceForecaster(STEP).fit(y)
    width = f.predict(3, (0.9,)).quantile(0.9) - f.predict(3).mean
    # the 90 % band of a one-step change of N(0, 20) noise: 1.28 x 20 x sqrt(2)
    assert width[0] == pytest.approx(1.2816 * 20 * 2**0.5, rel=0.15)
    doubled = f.update(pd.Series([2 * y.iloc[-1]], index=[y.index[-1] + STEP]))
    fc2 = doubled.predict(3, (0.9,))
    assert fc2.quantile(0.9) - fc2.mean == pytest.approx(width)


def test_level_forecaster_smooths_one_outlier() -> None:
    y = pd.Series(np.full(100, 100.0), index=pd.date_range(NOW, periods=100, freq=STEP))
    spike = pd.Series([1000.0], index=[y.index[-1] + STEP])
    naive = PersistenceForecaster(STEP).fit(y).update(spike).predict(3)
    level = PersistenceForecaster(STEP, alpha=0.1).fit(y).update(spike).predict(3)
    assert naive.mean[0] == 1000.0
    assert level.mean[0] == pytest.approx(190.0)
    assert level.model == "level"


def test_persistence_needs_two_samples() -> None:
    with pytest.raises(ForecastError, match="needs 2 observations"):
        PersistenceForecaster(STEP).fit(pd.Series([1.0], index=[pd.Timestamp(NOW)]))
    with pytest.raises(ValueError, match="alpha"):
        PersistenceForecaster(STEP, alpha=0)


FIVE = timedelta(minutes=5)


def _spiky(n: int, seed: int = 3) -> pd.Series:
    """5-minute samples: 100 with noise, and a spike of 600 at two samples of every hour."""
    rng = np.random.default_rng(seed)
    values = 100.0 + rng.normal(0, 5, n)
    phase = np.arange(n) % 12
    values[(phase == 3) | (phase == 4)] = 600.0
    return pd.Series(values, index=pd.date_range(NOW, periods=n, freq=FIVE))


def test_season_auto_finds_an_hourly_spike_and_provisions_for_its_return() -> None:
    y = _spiky(288)  # one day; the next sample (index 288) is at phase 0
    f = PersistenceForecaster(FIVE, alpha=0.2, bands="local", season="auto").fit(y)
    assert f.season == 12
    upper = f.predict(6, (0.5, 0.9)).quantile(0.9)
    assert upper[3] >= 600.0 and upper[4] >= 600.0  # phases 3 and 4: the spike again
    # the band elsewhere stays near the base load: the recurrence, not the band, carries
    # the spikes (a day-wide band would put the 90th percentile at the spike level)
    assert upper[0] < 300.0
    plain = PersistenceForecaster(FIVE, alpha=0.2, bands="local").fit(y)
    assert plain.season is None
    assert plain.predict(6, (0.9,)).quantile(0.9)[3] < 600.0


def test_season_auto_stays_off_without_a_period() -> None:
    rng = np.random.default_rng(4)
    y = pd.Series(100.0 + rng.normal(0, 5, 288), index=pd.date_range(NOW, periods=288, freq=FIVE))
    assert PersistenceForecaster(FIVE, season="auto").fit(y).season is None


def test_local_bands_follow_the_recent_noise() -> None:
    rng = np.random.default_rng(5)
    calm = 200.0 + rng.normal(0, 2, 400)
    rough = 200.0 + rng.normal(0, 40, 100)
    y = pd.Series(np.concatenate([calm, rough]), index=pd.date_range(NOW, periods=500, freq=STEP))
    local = PersistenceForecaster(STEP, alpha=0.2, bands="local").fit(y)
    absolute = PersistenceForecaster(STEP, alpha=0.2).fit(y)

    def width(f: PersistenceForecaster) -> float:
        fc = f.predict(1, (0.9,))
        return float(fc.quantile(0.9)[0] - fc.mean[0])

    assert width(local) > 2 * width(absolute)  # noisy now: wider than the day's band
    quiet = pd.Series(
        np.full(200, 200.0), index=pd.date_range(y.index[-1] + STEP, periods=200, freq=STEP)
    )
    assert width(local.update(quiet)) < 0.1 * width(absolute)  # calm again: it narrows


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"season": "7m"}, "whole number"),
        ({"season": "1m"}, "whole number"),
        ({"bands": "wide"}, "bands must be one of"),
        ({"sesaon": "1h"}, "unknown parameter"),
    ],
)
def test_level_parameters_are_checked(params: dict, message: str) -> None:
    from autoscaler.registry import build_forecaster

    with pytest.raises(ValueError, match=message):
        build_forecaster("level", FIVE, params)


def test_level_season_as_a_duration() -> None:
    from autoscaler.registry import build_forecaster

    assert build_forecaster("level", FIVE, {"season": "1h"}).season == 12
    assert build_forecaster("level", FIVE, {"season": "none"}).season is None
    assert build_forecaster("level", FIVE, {}).season_setting == "auto"
