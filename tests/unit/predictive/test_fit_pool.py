"""Fits in worker processes: the same fitted model as in the calling thread, and what
cannot travel to a worker is fitted where it is."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.fit_pool import FitPool
from autoscaler.forecasters.level import LevelForecaster
from autoscaler.model import ForecastError
from autoscaler.registry import ModelRecipe

STEP = timedelta(minutes=5)


def _series(n: int = 600) -> pd.Series:
    t = np.arange(n)
    values = 100 + 20 * np.sin(2 * np.pi * t / 288) + np.random.default_rng(1).normal(0, 3, n)
    return pd.Series(values, index=pd.date_range("2026-01-01", periods=n, freq=STEP, tz="UTC"))


@pytest.fixture
def pool():  # type: ignore[no-untyped-def]
    p = FitPool(workers=1)
    yield p
    p.close()


def test_a_worker_fits_the_same_model_as_the_calling_thread(pool: FitPool) -> None:
    recipe = ModelRecipe("arima", {})
    y = _series()
    remote = pool.fit(recipe, STEP, y)
    here = recipe(STEP).fit(y)
    assert pool.remote == 1 and pool.local == 0
    a, b = remote.predict(12, (0.1, 0.9)), here.predict(12, (0.1, 0.9))
    np.testing.assert_allclose(a.mean, b.mean)
    np.testing.assert_allclose(a.quantiles[0.9], b.quantiles[0.9])


def test_a_recipe_that_does_not_pickle_is_fitted_in_the_calling_thread(pool: FitPool) -> None:
    def local_recipe(step: timedelta) -> LevelForecaster:  # a closure: cannot travel
        return LevelForecaster(step, season=None)

    model = pool.fit(local_recipe, STEP, _series())
    assert (pool.remote, pool.local) == (0, 1)
    assert model.predict(3, (0.5,)).mean.shape == (3,)


def test_a_failing_fit_raises_its_own_error_from_the_worker(pool: FitPool) -> None:
    with pytest.raises(ForecastError):
        pool.fit(ModelRecipe("arima", {}), STEP, _series(1))  # too short even for naive


def test_a_closed_pool_starts_again_on_the_next_fit(pool: FitPool) -> None:
    pool.start()
    pool.close()
    model = pool.fit(ModelRecipe("level", {"calibrated": False}), STEP, _series())
    assert pool.remote == 1 and model.name == "level"
