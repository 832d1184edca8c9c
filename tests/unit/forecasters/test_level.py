"""The ``level`` model (the daemon's default): smoothed persistence, noise-following bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.level import LevelForecaster, sorted_quantiles
from autoscaler.forecasters.registry import build_forecaster
from autoscaler.model import ForecastError

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)


def naive_level(step: timedelta = STEP, **kw) -> LevelForecaster:
    """The level model as plain persistence with whole-history bands."""
    return LevelForecaster(
        step, **{"alpha": 1.0, "bands": "absolute", "season": None, "width": 1.0, **kw}
    )


def test_persistence_bands_monotone_and_scaled_by_level() -> None:
    rng = np.random.default_rng(0)
    y = pd.Series(
        200.0 * rng.lognormal(0, 0.2, 500), index=pd.date_range(NOW, periods=500, freq=STEP)
    )
    f = naive_level(bands="relative").fit(y)
    fc = f.predict(10, (0.95, 0.5, 0.9))
    assert (fc.quantile(0.5) <= fc.quantile(0.9)).all()
    assert (fc.quantile(0.9) <= fc.quantile(0.95)).all()
    assert (fc.mean == y.iloc[-1]).all()
    # the 95 % band holds about 95 % of one-step-ahead outcomes in this history
    ratio = fc.quantile(0.95)[0] / y.iloc[-1]
    rel = y.to_numpy()[1:] / y.to_numpy()[:-1]
    assert np.mean(rel <= ratio) == pytest.approx(0.95, abs=0.01)
    doubled = (
        naive_level(bands="relative")
        .fit(y)
        .update(pd.Series([2 * y.iloc[-1]], index=[y.index[-1] + STEP]))
    )
    assert doubled.predict(10, (0.9,)).quantile(0.9) == pytest.approx(2 * fc.quantile(0.9))


def test_absolute_bands_do_not_scale_with_level() -> None:
    rng = np.random.default_rng(1)
    y = pd.Series(200.0 + rng.normal(0, 20, 500), index=pd.date_range(NOW, periods=500, freq=STEP))
    f = naive_level().fit(y)
    width = f.predict(3, (0.9,)).quantile(0.9) - f.predict(3).mean
    # the 90 % band of a one-step change of N(0, 20) noise: 1.28 x 20 x sqrt(2)
    assert width[0] == pytest.approx(1.2816 * 20 * 2**0.5, rel=0.15)
    doubled = f.update(pd.Series([2 * y.iloc[-1]], index=[y.index[-1] + STEP]))
    fc2 = doubled.predict(3, (0.9,))
    assert fc2.quantile(0.9) - fc2.mean == pytest.approx(width)


def test_level_forecaster_smooths_one_outlier() -> None:
    y = pd.Series(np.full(100, 100.0), index=pd.date_range(NOW, periods=100, freq=STEP))
    spike = pd.Series([1000.0], index=[y.index[-1] + STEP])
    naive = naive_level().fit(y).update(spike).predict(3)
    level = naive_level(alpha=0.1).fit(y).update(spike).predict(3)
    assert naive.mean[0] == 1000.0
    assert level.mean[0] == pytest.approx(190.0)
    assert level.model == "level"


def test_persistence_needs_two_samples() -> None:
    with pytest.raises(ForecastError, match="needs at least 2 points"):
        naive_level().fit(pd.Series([1.0], index=[pd.Timestamp(NOW)]))
    with pytest.raises(ValueError, match="alpha"):
        LevelForecaster(STEP, alpha=0)


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
    f = LevelForecaster(FIVE).fit(y)
    assert f.season == 12
    upper = f.predict(6, (0.5, 0.9)).quantile(0.9)
    assert upper[3] >= 600.0 and upper[4] >= 600.0  # phases 3 and 4: the spike again
    # the band elsewhere stays near the base load: the recurrence, not the band, carries
    # the spikes (a day-wide band would put the 90th percentile at the spike level)
    assert upper[0] < 300.0
    plain = naive_level(FIVE, alpha=0.2, bands="local").fit(y)
    assert plain.season is None
    assert plain.predict(6, (0.9,)).quantile(0.9)[3] < 600.0


def test_season_auto_stays_off_without_a_period() -> None:
    rng = np.random.default_rng(4)
    y = pd.Series(100.0 + rng.normal(0, 5, 288), index=pd.date_range(NOW, periods=288, freq=FIVE))
    assert naive_level(FIVE, season="auto").fit(y).season is None


def test_local_bands_follow_the_recent_noise() -> None:
    rng = np.random.default_rng(5)
    calm = 200.0 + rng.normal(0, 2, 400)
    rough = 200.0 + rng.normal(0, 40, 100)
    y = pd.Series(np.concatenate([calm, rough]), index=pd.date_range(NOW, periods=500, freq=STEP))
    local = naive_level(alpha=0.2, bands="local").fit(y)
    absolute = naive_level(alpha=0.2).fit(y)

    def width(f: LevelForecaster) -> float:
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
        ({"width": 0}, "width must be in"),
    ],
)
def test_level_parameters_are_checked(params: dict, message: str) -> None:
    with pytest.raises(ForecastError, match=message):
        build_forecaster("level", FIVE, **params)


def test_level_season_as_a_duration() -> None:
    assert build_forecaster("level", FIVE, season="1h").season == 12
    assert build_forecaster("level", FIVE, season="none").season is None
    assert build_forecaster("level", FIVE).season_setting == "auto"


def test_width_stretches_the_band_offsets_not_the_mean() -> None:
    rng = np.random.default_rng(6)
    y = pd.Series(500.0 + rng.normal(0, 20, 600), index=pd.date_range(NOW, periods=600, freq=STEP))
    qs = (0.05, 0.5, 0.95)
    kw = {"season": None, "bands": "absolute"}
    plain = LevelForecaster(STEP, width=1.0, **kw).fit(y).predict(6, qs)
    wide = LevelForecaster(STEP, width=1.5, **kw).fit(y).predict(6, qs)
    np.testing.assert_array_equal(wide.mean, plain.mean)
    for q in qs:
        np.testing.assert_allclose(
            wide.quantile(q) - wide.mean, 1.5 * (plain.quantile(q) - plain.mean), rtol=1e-9
        )
    # N(0, 20) noise less an EWMA level (alpha 0.2): error sd 20 x sqrt(1 + 0.2 / 1.8);
    # its 90 % band, half as wide again
    expected = 1.5 * 2 * 1.6449 * 20 * (1 + 0.2 / 1.8) ** 0.5
    assert (wide.quantile(0.95) - wide.quantile(0.05))[0] == pytest.approx(expected, rel=0.15)


def test_sorted_quantiles_are_numpys() -> None:
    rng = np.random.default_rng(3)
    qs = (0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99)
    cases = [rng.normal(0, 1, n) for n in (1, 2, 3, 10, 101, 10_080)]
    cases += [rng.integers(-3, 4, 500).astype(float), np.zeros(7), np.array([-0.0, 0.0, -0.0])]
    cases += [np.array([1.0, np.nan, 2.0]), rng.exponential(5, 999) * 1e-12]
    for values in cases:
        s = np.sort(values)
        expected = np.quantile(s, qs)
        got = np.asarray(sorted_quantiles(s, qs))
        assert np.array_equal(got, expected, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_the_recurrence_raises_only_the_quantiles_above_the_median() -> None:
    y = _spiky(288)
    f = LevelForecaster(FIVE).fit(y)
    qs = (0.1, 0.5, 0.9, 0.95)
    fc = f.predict(6, qs)
    # the rows at or below 0.5 are the level's bands alone: the spike one season ago
    # (phases 3 and 4) does not reach them, and does reach the upper ones
    for q in (0.1, 0.5):
        assert fc.quantile(q)[3] < 300.0
    for q in (0.9, 0.95):
        assert fc.quantile(q)[3] >= 600.0 and fc.quantile(q)[4] >= 600.0
    # each row is what it is when asked alone (no row is raised by another's recurrence)
    for q in qs:
        np.testing.assert_array_equal(fc.quantile(q), f.predict(6, (q,)).quantile(q))
