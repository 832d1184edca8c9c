"""FittedForecast: fit once, then only the new samples; refit on retrain; fall back on failure."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from daemon_fakes import T0

from autoscaler.daemon.forecasting import FittedForecast, NoRetrain
from autoscaler.model import Forecast, ForecastError, GroupSpec, MetricWindow

MIN = timedelta(minutes=1)
SPEC = GroupSpec("web", 1, 10, 100.0)


class Recording:
    """Predicts the mean of everything it has seen; records fit/update inputs."""

    name = "recording"
    min_history = 10
    log: list[tuple[str, list[float]]]

    def __init__(self, fail_fit: bool = False) -> None:
        self.log = []
        self.seen: list[float] = []
        self.fail_fit = fail_fit

    def fit(self, y: pd.Series) -> Recording:
        if self.fail_fit:
            raise ForecastError("too little history")
        self.log.append(("fit", list(y)))
        self.seen = list(y)
        return self

    def update(self, y: pd.Series) -> Recording:
        self.log.append(("update", list(y)))
        self.seen += list(y)
        return self

    def predict(self, horizon: int, quantiles=()) -> Forecast:
        m = np.full(horizon, float(np.mean(self.seen)))
        idx = pd.date_range(T0, periods=horizon, freq="min")
        return Forecast(idx, m, {q: m * (1 + q) for q in quantiles}, model=self.name)


def window(end_min: int, n: int = 20) -> MetricWindow:
    end = T0 + end_min * MIN
    return MetricWindow(end, MIN, np.arange(end_min - n + 1, end_min + 1, dtype=float))


def test_fits_once_then_updates_with_only_the_new_samples() -> None:
    models: list[Recording] = []

    def build() -> Recording:
        models.append(Recording())
        return models[-1]

    fc = FittedForecast(build, horizon=3, quantiles=(0.9,))
    first = fc.forecast(SPEC, window(100), T0)
    assert first.model == "recording" and len(first) == 3 and 0.9 in first.quantiles
    fc.forecast(SPEC, window(100), T0)  # same window: nothing new
    fc.forecast(SPEC, window(103), T0 + 3 * MIN)
    assert [k for k, _ in models[0].log] == ["fit", "update"]
    assert models[0].log[1][1] == [101.0, 102.0, 103.0]
    assert fc.model_age(T0 + 10 * MIN) == 10 * MIN

    fc.retrain("web", T0 + 20 * MIN)
    assert len(models) == 2 and models[1].log[0][1] == list(window(103).values)
    assert fc.model_age(T0 + 20 * MIN) == timedelta(0)

    fc.forecast(SPEC, window(200), T0 + 100 * MIN)  # a gap longer than the window: refit
    assert len(models) == 3


def test_fit_failure_falls_back_to_the_last_value_with_the_reason() -> None:
    fc = FittedForecast(lambda: Recording(fail_fit=True), horizon=2, quantiles=(0.5,))
    out = fc.forecast(SPEC, window(50), T0)
    assert out.model == "last_value" and list(out.mean) == [50.0, 50.0]
    assert out.note == "fallback: ForecastError: too little history"
    assert fc.model_age(T0) is None


def test_too_short_history_is_a_recorded_fallback_and_no_retrain_is_a_no_op() -> None:
    fc = FittedForecast(Recording, horizon=1)
    out = fc.forecast(SPEC, window(5, n=4), T0)
    assert "4 samples, the model needs 10" in out.note
    assert NoRetrain().retrain("web", T0) is None and NoRetrain().model_age(T0) is None
