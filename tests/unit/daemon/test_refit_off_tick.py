"""A slow fit never delays a tick: refits run on a worker thread and swap in when done."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
from daemon_fakes import T0, group

from autoscaler.config import GroupConfig
from autoscaler.forecasters.level import LevelForecaster
from autoscaler.forecasting import RetrainingForecastProvider
from autoscaler.model import MetricWindow

MIN = timedelta(minutes=1)
FIT_SECONDS = 3.0


class SlowModel(LevelForecaster):
    """The level model, but its fit takes several seconds (as a big ARIMA or LSTM does)."""

    def __init__(self, step: timedelta) -> None:
        super().__init__(step, alpha=0.5, season=None)
        self.name = "slow"

    def fit(self, y):  # type: ignore[no-untyped-def]
        time.sleep(FIT_SECONDS)
        return super().fit(y)


def test_a_model_that_takes_seconds_to_fit_delays_no_tick() -> None:
    spec = GroupConfig.model_validate(group("web")).spec()
    provider = RetrainingForecastProvider(SlowModel, retrain=timedelta(minutes=30), inline=False)
    t0 = time.monotonic()
    slowest, models, k = 0.0, [], 0
    while time.monotonic() - t0 < 3 * FIT_SECONDS:
        now = T0 + k * MIN
        window = MetricWindow(now, MIN, 100 + np.arange(k, k + 60, dtype=float))
        started = time.monotonic()
        fc = provider.forecast(spec, window, now)
        slowest = max(slowest, time.monotonic() - started)
        assert fc is not None  # the naive fallback serves while the first fit runs
        models.append((fc.model, fc.note))
        k += 1
        time.sleep(0.05)
    assert slowest < FIT_SECONDS / 5, f"a tick waited {slowest:.2f}s for a fit"
    assert models[0][1] == "fell back to naive because first fit of the model still running"
    # the slow model swapped in when done, with no fallback note, then a second refit
    # (30 simulated minutes later) ran in the background too
    assert any(m == "slow" and not note for m, note in models), sorted(set(models))
    assert provider.fits >= 2 and k > 30
    assert models[-1][0] == "slow"
