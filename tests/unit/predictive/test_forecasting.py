"""The retraining forecast provider."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasting import RetrainingForecastProvider
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
        (lambda step: LinearFake(fail_fit=True), "because linear-fake: singular matrix"),
        (lambda step: LinearFake(fail_predict=True), "because predict failed: RuntimeError: boom"),
        (
            lambda step: (_ for _ in ()).throw(ValueError("no such model 'x'")),
            "because model unavailable: no such model 'x'",
        ),
    ],
)
def test_falls_back_to_naive_with_the_reason(make, note: str) -> None:
    provider = RetrainingForecastProvider(make, retrain=timedelta(hours=1))
    values = ramp()
    fc = drive(provider, values, 10, 40)
    assert fc.model == "naive"
    assert note in fc.note
    assert fc.note.startswith("fell back to naive because ")  # forecasters.fallback's note
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


def test_array_path_gives_the_pandas_path_forecast() -> None:
    # The provider drives models with update_values/predict_arrays (no pandas per
    # decision); the forecasts must be the ones update/predict give on the same data.
    from autoscaler.forecasters.level import LevelForecaster

    rng = np.random.default_rng(4)
    load = 500 + 100 * np.sin(np.arange(400) / 30) + rng.normal(0, 20, 400)
    provider = RetrainingForecastProvider(
        lambda step: LevelForecaster(step), retrain=timedelta(hours=12)
    )
    reference = LevelForecaster(STEP)
    for t in range(120, 400):
        now = NOW + t * STEP
        window = MetricWindow(now - STEP, STEP, load[t - 60 : t])
        fc = provider.forecast(SPEC, window, now)
        assert fc is not None
        if t == 120:
            index = pd.date_range(end=now - STEP, periods=60, freq=STEP)
            reference.fit(pd.Series(load[60:120], index=index))
        else:
            reference.update(pd.Series(load[t - 1 : t], index=[now - STEP]))
        if t % 40 == 0 or t == 399:
            want = reference.predict(len(fc), provider.quantiles)
            assert list(fc.index) == list(want.index)
            np.testing.assert_allclose(fc.mean, want.mean)
            for q in provider.quantiles:
                np.testing.assert_allclose(fc.quantile(q), want.quantile(q))
    assert provider.fits == 1


def test_fallback_is_refitted_on_the_history_when_the_model_breaks() -> None:
    fake = LinearFake(fail_predict=False)
    provider = RetrainingForecastProvider(lambda step: fake, retrain=timedelta(hours=3))
    values = np.arange(1.0, 41.0)
    for t in range(20, 40):
        now = NOW + t * STEP
        provider.forecast(SPEC, MetricWindow(now - STEP, STEP, values[:t]), now)
    fake.fail_predict = True
    now = NOW + 40 * STEP
    fc = provider.forecast(SPEC, MetricWindow(now - STEP, STEP, values), now)
    assert fc is not None and fc.note.startswith("fell back to naive")
    # the naive fallback knows the newest sample, although it skipped the updates
    assert fc.mean[0] == pytest.approx(40.0)


def test_the_first_fit_builds_make_first_and_every_later_refit_make() -> None:
    built: list[str] = []

    def make(step: timedelta) -> LinearFake:
        built.append("make")
        return LinearFake()

    def make_first(step: timedelta) -> LinearFake:
        built.append("first")
        return LinearFake()

    provider = RetrainingForecastProvider(
        make, retrain=timedelta(minutes=10), make_first=make_first
    )
    fc = drive(provider, ramp(), 10, 35)  # fits at 10, 20 and 30
    assert built == ["first", "make", "make"]
    assert fc is not None and fc.model == "linear-fake" and fc.note == ""
