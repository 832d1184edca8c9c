"""A lower edge the model put at zero kept there (``floor``), and the miss rate's ``cap``."""

from __future__ import annotations

import numpy as np
import pytest
from test_conformal_sides import STEP, FixedBand, misses_online, series

from autoscaler.forecasters.aci import ScorePool
from autoscaler.forecasters.conformal import ConformalForecaster, make_pool, replay, stretch


def run(y, band: tuple[float, float, float], **settings) -> tuple[float, float]:
    model = ConformalForecaster(FixedBand(STEP, *band), STEP, **settings).fit(y.iloc[:1500])
    return misses_online(model, y, 1499)


def zero_inflated(seed: int, n: int = 4500):
    # 80 % of the outcomes are 0; the others spread above a mean of 2
    rng = np.random.default_rng(seed)
    busy = rng.random(n) < 0.2
    return series(np.where(busy, 2.0 + np.abs(rng.normal(0, 0.4, n)), 0.0))


def test_outcomes_at_zero_under_an_edge_at_zero_no_longer_hold_the_stretch_at_one() -> None:
    # the model's band is clipped at zero (mean 2, lower edge 0, upper 3); every zero
    # scores exactly 1, so one stretch is the pool's 90 % quantile, 1: 99 % coverage
    y = zero_inflated(5)
    band = (2.0, 2.0, 1.0)
    lo, hi = run(y, band, floor=False)
    assert lo == 0.0 and hi < 0.02
    # the edge kept at zero covers the zeros under any stretch: the upper edge narrows
    # until the band misses its 10 %, all above
    lo, hi = run(y, band, floor=True)
    assert lo == 0.0 and hi == pytest.approx(0.10, abs=0.02)
    assert run(y, band, floor=True, cap=1.0) == (lo, hi)  # the rate never needed 0.5
    # kept there only while 5 % of the outcomes under it are zero: here 80 % are; the
    # default keeps it always
    assert run(y, band, floor=0.05) == run(y, band) == (lo, hi)


def test_an_edge_at_zero_that_no_outcome_reaches_moves_unless_always_kept() -> None:
    # the model's band reaches zero (mean 2, lower edge 0) but the outcomes stay near the
    # mean: with floor=0.05 the band is calibrated as without the floor, to the bit;
    # floor=True keeps the lower edge at zero, and the upper edge takes every miss
    rng = np.random.default_rng(7)
    y = series(2.0 + rng.normal(0, 0.5, 4500))
    band = (2.0, 2.0, 2.0)
    plain = run(y, band, floor=False)
    assert plain[0] > 0.02 and run(y, band, floor=0.05) == plain
    lo, hi = run(y, band, floor=True)
    assert lo == 0.0 and hi == pytest.approx(0.10, abs=0.025)
    for bad in (1.0, 0.0, -0.1, "yes"):
        with pytest.raises((ValueError, TypeError)):
            ScorePool(leads=None, floor=bad)


def test_a_band_off_the_floor_is_calibrated_as_before() -> None:
    # no edge at zero: the floor changes nothing, to the last bit
    rng = np.random.default_rng(3)
    y = series(50.0 + rng.normal(0, 2.0, 3000))
    bands = []
    for floor in (False, True):
        model = ConformalForecaster(FixedBand(STEP, 50.0, 6.0, 6.0), STEP, floor=floor)
        model.fit(y.iloc[:1500]).update(y.iloc[1500:2500])
        fc = model.predict(12, (0.05, 0.5, 0.95))
        bands.append(fc.quantiles)
    for q in bands[0]:
        np.testing.assert_array_equal(bands[0][q], bands[1][q])
    assert bands[0][0.95][0] < 56.0  # and it did narrow the model's too-wide band


def test_stretch_keeps_a_zero_lower_band_at_zero_monotone_and_around_the_mean() -> None:
    rng = np.random.default_rng(6)
    mean = rng.uniform(1, 5, 12)
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    low = np.where(np.arange(12) % 2 == 0, 0.0, mean / 2)  # at zero on every other lead
    bands = {0.05: low, 0.25: (low + mean) / 2, 0.5: mean, 0.75: mean + 1, 0.95: mean + 2}
    for c in (0.3, 1.0, 2.5):
        out = stretch(mean, bands, np.full(12, c), floor=True)
        rows = np.vstack([out[q] for q in qs])
        assert (np.diff(rows, axis=0) >= 0).all()
        assert (out[0.05] <= mean).all() and (out[0.95] >= mean).all() and (rows >= 0).all()
        at_zero = low == 0
        np.testing.assert_array_equal(out[0.05][at_zero], 0.0)
        # off the floor, the stretch as without it
        plain = stretch(mean, bands, np.full(12, c))
        np.testing.assert_array_equal(out[0.05][~at_zero], plain[0.05][~at_zero])
        np.testing.assert_array_equal(out[0.95], plain[0.95])
    # without the floor, a narrowing stretch lifts the edge off zero
    assert (stretch(mean, bands, np.full(12, 0.3))[0.05][at_zero] > 0).all()


def test_a_band_of_a_quantity_that_may_be_negative_has_no_floor() -> None:
    mean, bands = np.full(4, 1.0), {0.05: np.full(4, -2.0), 0.95: np.full(4, 4.0)}
    out = stretch(mean, bands, np.full(4, 0.5), floor=True)
    np.testing.assert_allclose(out[0.05], -0.5)


def test_replayed_floor_scores_give_the_bands_the_model_gave() -> None:
    y = zero_inflated(9, 3000)
    log: list = []
    logged = ConformalForecaster(FixedBand(STEP, 2.0, 2.0, 1.0), STEP, log=log, floor=0.05)
    floored = ConformalForecaster(FixedBand(STEP, 2.0, 2.0, 1.0), STEP, floor=True)
    bands, default = [], []
    for m in (logged, floored):
        m.fit(y.iloc[:1500])
    for pos in range(1500, 2900, 100):
        for m in (logged, floored):
            m.update(y.iloc[pos : pos + 100])
        own = logged.predict(12, (0.05, 0.95))
        default.append((own.quantiles[0.05], own.quantiles[0.95], logged.pool.pinned))
        fc = floored.predict(12, (0.05, 0.95))
        bands.append((fc.quantiles[0.05], fc.quantiles[0.95]))
    pool, pinned = make_pool(12, floor=True), []
    raw = {0.05: np.zeros(12), 0.95: np.full(12, 3.0)}
    factors = replay(log, pool, pinned)
    assert len(pinned) == len(factors) and all(pinned)
    for c, (low, high) in zip(factors, bands, strict=True):
        out = stretch(np.full(12, 2.0), raw, c, floor=True)
        np.testing.assert_allclose(out[0.05], low)
        np.testing.assert_allclose(out[0.95], high)
    assert high[0] < 2.5  # the upper edge narrowed
    # floor=0.05's own bands, replayed from its log into a pool of the same settings
    pool, pinned = make_pool(12, floor=0.05), []
    factors = replay(log, pool, pinned)
    assert pinned == [p for *_, p in default] and all(pinned)  # 80 % of outcomes are 0
    for c, p, (low, high, _) in zip(factors, pinned, default, strict=True):
        out = stretch(np.full(12, 2.0), raw, c, floor=p)
        np.testing.assert_allclose(out[0.05], low)
        np.testing.assert_allclose(out[0.95], high)
    # a log written before the floor was kept replays into the default, not the floor
    old = [e[:5] if isinstance(e, tuple) else e for e in log]
    assert len(replay(old, make_pool(12, floor=False))) == len(bands)
    with pytest.raises(ValueError):
        replay(old, make_pool(12, floor=True))
    with pytest.raises(ValueError):
        replay(old, make_pool(12))  # the default keeps edges at zero (floor=0.05)


def test_the_cap_bounds_the_miss_rate() -> None:
    # every outcome covered: the rate climbs to its cap and no further
    for cap in (0.5, 1.0):
        pool = ScorePool(leads=None, gamma=0.05, cap=cap)
        for _ in range(200):
            pool.add(np.arange(1, 13), np.full(12, 0.1))
        assert pool.alphas[0] == pytest.approx(cap)
        assert pool.factors(1)[0] == pytest.approx(0.1)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError):
            ScorePool(leads=None, cap=bad)


def test_a_pool_stored_before_the_floor_keeps_edges_moving(pool_stored_without) -> None:
    old = pool_stored_without("floor", "cap")
    assert old.floor is False and old.cap == 0.5
    for _ in range(100):
        old.add(np.arange(1, 13), np.full(12, 0.5))
    assert old.alphas[0] == pytest.approx(0.5)
