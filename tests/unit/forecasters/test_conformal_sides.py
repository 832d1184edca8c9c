"""A stretch per edge of the band (``sides``): each edge calibrated on its own side."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.aci import ScorePool
from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.conformal import ConformalForecaster, make_pool, replay, stretch

STEP = timedelta(minutes=5)
START = datetime(2024, 1, 1, tzinfo=UTC)


class FixedBand(BaseForecaster):
    """Forecasts ``mean`` with the band [mean - below, mean + above] at every lead."""

    name = "fixed_band"

    def __init__(self, step: timedelta, mean: float, below: float, above: float) -> None:
        super().__init__(step, mean=mean, below=below, above=above)
        self.mean, self.below, self.above = mean, below, above

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        mean = np.full(horizon, self.mean)
        z = {0.05: -self.below, 0.95: self.above}
        return mean, {q: mean + z.get(q, 0.0) for q in quantiles}


def series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range(START, periods=len(values), freq=STEP))


def misses_online(model: ConformalForecaster, y: pd.Series, start: int) -> tuple[float, float]:
    """(share of outcomes under the lower edge, share over the upper) of 12-step
    forecasts made every hour after ``start``."""
    below, above, pos = [], [], start
    values = y.to_numpy()
    while pos + 12 < len(y):
        fc = model.predict(12, (0.05, 0.95))
        actual = values[pos + 1 : pos + 13]
        below.extend(actual < fc.quantiles[0.05])
        above.extend(actual > fc.quantiles[0.95])
        model.update(y.iloc[pos + 1 : pos + 13])
        pos += 12
    return float(np.mean(below)), float(np.mean(above))


def run(y: pd.Series, band: tuple[float, float, float], sides) -> tuple[float, float]:
    # without the floor (an edge at zero kept there, the default): the sides alone
    model = ConformalForecaster(FixedBand(STEP, *band), STEP, sides=sides, floor=False)
    model.fit(y.iloc[:1500])
    return misses_online(model, y, 1499)


def test_a_lower_edge_clipped_at_zero_no_longer_widens_the_upper_one() -> None:
    # 80 % of the outcomes are 0, on the lower edge (the model's band clipped at zero):
    # their lower scores are exactly 1, so one stretch for both edges is the pool's
    # 90 % quantile, 1, and leaves the upper edge (wide enough for nearly all the
    # rest) as it is: 99 % coverage
    rng = np.random.default_rng(5)
    busy = rng.random(4500) < 0.2
    y = series(np.where(busy, 2.0 + np.abs(rng.normal(0, 0.4, 4500)), 0.0))
    band = (2.0, 2.0, 1.0)  # mean 2, lower edge at 0, upper at 3
    lo, hi = run(y, band, False)
    assert lo == 0.0 and hi < 0.02
    # each edge at its own 5 %: the lower edge still cannot miss, the upper misses 5 %
    lo, hi = run(y, band, "own")
    assert lo == 0.0 and hi == pytest.approx(0.05, abs=0.015)
    # one miss rate for the band: the upper edge takes the lower's share, 10 % in all
    lo, hi = run(y, band, "shared")
    assert lo == 0.0 and hi == pytest.approx(0.10, abs=0.02)


def test_skewed_noise_misses_about_five_percent_on_each_edge_with_sides() -> None:
    # errors three times larger above the mean than below, the model's band symmetric:
    # one stretch covers about 90 % but all its misses fall above; per edge, 5 % each
    rng = np.random.default_rng(8)
    e = rng.normal(0, 1.0, 4500)
    y = series(100.0 + np.where(e > 0, 3.0 * e, e))
    lo, hi = run(y, (100.0, 1.0, 1.0), False)
    assert lo < 0.01 and hi == pytest.approx(0.10, abs=0.025)
    for sides in ("own", "shared"):
        lo, hi = run(y, (100.0, 1.0, 1.0), sides)
        assert lo == pytest.approx(0.05, abs=0.02) and hi == pytest.approx(0.05, abs=0.02)


def test_stretch_per_edge_keeps_bands_monotone_and_around_the_mean() -> None:
    rng = np.random.default_rng(2)
    mean = rng.normal(5, 2, 12)
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    spread = np.sort(np.abs(rng.normal(0, 1, (2, 12))), axis=0)
    # a median on either side of the mean
    offsets = np.vstack([-spread[::-1], rng.normal(0, 0.1, 12), spread])
    bands = {q: mean + offsets[i] for i, q in enumerate(qs)}
    factors = np.vstack([rng.uniform(0, 3, 12), rng.uniform(0, 3, 12)])
    out = stretch(mean, bands, factors)
    rows = np.vstack([out[q] for q in qs])
    assert (np.diff(rows, axis=0) >= 0).all()
    assert (out[0.05] <= mean).all() and (out[0.95] >= mean).all()
    # each offset is its own edge's stretch of the model's
    np.testing.assert_allclose(out[0.05] - mean, factors[0] * offsets[0])
    np.testing.assert_allclose(out[0.95] - mean, factors[1] * offsets[4])
    # equal rows are the one stretch
    one = stretch(mean, bands, factors[1])
    same = stretch(mean, bands, np.vstack([factors[1], factors[1]]))
    for q in qs:
        np.testing.assert_array_equal(one[q], same[q])


def test_replayed_sided_scores_give_the_bands_the_model_gave() -> None:
    rng = np.random.default_rng(4)
    e = rng.normal(0, 1.0, 3000)
    y = series(100.0 + np.where(e > 0, 2.0 * e, e))
    log: list = []
    logged = ConformalForecaster(FixedBand(STEP, 100.0, 1.0, 1.0), STEP, log=log)
    sided = ConformalForecaster(FixedBand(STEP, 100.0, 1.0, 1.0), STEP, sides="own")
    bands = []
    for m in (logged, sided):
        m.fit(y.iloc[:1500])
    for pos in range(1500, 2900, 100):
        for m in (logged, sided):
            m.update(y.iloc[pos : pos + 100])
        logged.predict(12, (0.05, 0.95))
        fc = sided.predict(12, (0.05, 0.95))
        bands.append((fc.quantiles[0.05], fc.quantiles[0.95]))
    factors = replay(log, make_pool(12, sides="own"))
    raw = {0.05: np.full(12, 99.0), 0.95: np.full(12, 101.0)}
    for c, (low, high) in zip(factors, bands, strict=True):
        out = stretch(np.full(12, 100.0), raw, c)
        np.testing.assert_allclose(out[0.05], low)
        np.testing.assert_allclose(out[0.95], high)
        assert c[1][0] > c[0][0]  # the upper edge stretched more (errors twice as large)
    # a log without sides cannot replay into a pool with them
    old = [e[:4] if isinstance(e, tuple) else e for e in log]
    with pytest.raises(ValueError):
        replay(old, make_pool(12, sides="shared"))


def test_a_pool_stored_before_sides_has_one_stretch(pool_stored_without) -> None:
    old = pool_stored_without("sides", "signs")
    old.add(np.arange(1, 13), np.ones(12), side=np.ones(12))
    assert old.factors(3).shape == (3,) and isinstance(old.signs, deque)
    with pytest.raises(ValueError):
        ScorePool(leads=None, sides="both")
