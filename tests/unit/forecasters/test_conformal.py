"""Conformal calibration: bands of the wrong width come out covering 90% of known noise."""

from __future__ import annotations

import importlib.util
import itertools
from collections import deque
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from forecast_data import FAST_PARAMS

from autoscaler.forecasters.aci import ScorePool
from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.conformal import ConformalForecaster, make_pool, replay, stretch
from autoscaler.forecasters.registry import KNOWN_KINDS, NEEDS_TORCH, build_forecaster

HAS_TORCH = importlib.util.find_spec("torch") is not None

STEP = timedelta(minutes=5)
START = datetime(2024, 1, 1, tzinfo=UTC)


class KnownMean(BaseForecaster):
    """Forecasts the true mean (100) with a band of a fixed, wrong half-width."""

    name = "known_mean"

    def __init__(self, step: timedelta, half_width: float = 1.0, **params) -> None:
        super().__init__(step, half_width=half_width, **params)
        self.half_width = half_width

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        mean = np.full(horizon, 100.0)
        z = {0.05: -1.0, 0.5: 0.0, 0.95: 1.0}
        return mean, {q: mean + z.get(q, 0.0) * self.half_width for q in quantiles}


def noise_series(sigmas: list[tuple[int, float]], seed: int = 0) -> pd.Series:
    """100 plus Gaussian noise, ``n`` points at each standard deviation in turn."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([100.0 + rng.normal(0, s, n) for n, s in sigmas])
    return pd.Series(values, index=pd.date_range(START, periods=len(values), freq=STEP))


def coverage_online(model: ConformalForecaster, y: pd.Series, start: int, every: int = 12):
    """Forecast 12 steps every ``every`` steps after ``start``; share of outcomes inside."""
    inside, pos = [], start
    while pos + 12 < len(y):
        fc = model.predict(12, (0.05, 0.95))
        actual = y.to_numpy()[pos + 1 : pos + 13]
        inside.extend((actual >= fc.quantiles[0.05]) & (actual <= fc.quantiles[0.95]))
        model.update(y.iloc[pos + 1 : pos + 1 + every])
        pos += every
    return float(np.mean(inside))


@pytest.mark.parametrize("half_width", [0.5, 40.0])
def test_a_band_too_narrow_or_too_wide_is_brought_to_90_percent(half_width: float) -> None:
    y = noise_series([(3000, 5.0)])
    model = ConformalForecaster(KnownMean(STEP, half_width), STEP).fit(y.iloc[:1000])
    # 90% of N(0, 5) lies within 1.645 x 5 of the mean
    assert model.factors(12) * half_width == pytest.approx(np.full(12, 1.645 * 5.0), rel=0.15)
    assert 0.87 <= coverage_online(model, y, 999) <= 0.93


def test_a_band_without_width_is_not_stretched_by_its_misses() -> None:
    # A model that is certain (a band of zero width, as a model fitted on a few points
    # can be) gives no finite score: dividing by its width made later bands 10^5 times
    # wider.
    y = noise_series([(3000, 5.0)])
    certain = ConformalForecaster(KnownMean(STEP, 0.0), STEP).fit(y.iloc[:1000])
    certain.update(y.iloc[1000:1500])
    # its outcomes count as misses (infinite scores), but no stretch is made of them
    assert np.isinf(np.asarray(certain.pool.scores)).all()
    assert certain.factors(12) == pytest.approx(np.ones(12))
    fc = certain.predict(12, (0.05, 0.95))
    assert np.allclose(fc.quantiles[0.95], fc.mean)
    skipped = ConformalForecaster(KnownMean(STEP, 0.0), STEP, certain=False).fit(y.iloc[:1000])
    assert not skipped.update(y.iloc[1000:1500]).calibrated  # left out: no scores at all
    sane = ConformalForecaster(KnownMean(STEP, 1.0), STEP).fit(y.iloc[:1000])
    sane.update(y.iloc[1000:1500])
    assert sane.calibrated and 5.0 < sane.factors(12).min() <= sane.factors(12).max() < 15.0


def test_coverage_recovers_after_the_noise_doubles() -> None:
    y = noise_series([(1500, 5.0), (4000, 10.0)], seed=1)
    model = ConformalForecaster(KnownMean(STEP, 1.0), STEP).fit(y.iloc[:1500])
    calm = model.factors(12)
    cov = coverage_online(model, y.iloc[:4500], 1499)
    assert model.factors(12) == pytest.approx(2 * calm, rel=0.2)  # the pool now holds rough noise
    assert 0.85 <= cov <= 0.93
    assert 0.87 <= coverage_online(model, y, 4499) <= 0.95


def test_too_little_history_keeps_the_models_own_band() -> None:
    y = noise_series([(30, 5.0)])
    fc = ConformalForecaster(KnownMean(STEP, 2.0), STEP).fit(y).predict(3, (0.05, 0.95))
    np.testing.assert_allclose(fc.quantiles[0.95] - fc.mean, 2.0)


@pytest.mark.parametrize("kind", [k for k in KNOWN_KINDS if k not in NEEDS_TORCH or HAS_TORCH])
def test_calibrated_models_keep_monotone_bands_around_the_mean(kind: str, nab_cpu) -> None:
    # auto and ensemble with their default checkpoints: enough held-out scores to calibrate
    params = {k: v for k, v in FAST_PARAMS.get(kind, {}).items() if k != "eval_origins"}
    model = build_forecaster(kind, STEP, fallback=True, calibrated=True, **params).fit(nab_cpu)
    fc = model.predict(12, (0.05, 0.25, 0.5, 0.75, 0.95))
    assert "conformal" in fc.note
    qs = sorted(fc.quantiles)
    for lo, hi in itertools.pairwise(qs):
        assert (fc.quantiles[lo] <= fc.quantiles[hi]).all()
    assert (fc.quantiles[0.25] <= fc.mean).all() and (fc.mean <= fc.quantiles[0.75]).all()
    assert (fc.quantiles[0.95] > fc.quantiles[0.05]).any()


def test_with_refit_the_model_itself_is_fitted_on_the_whole_series(nab_cpu) -> None:
    model = build_forecaster("level", STEP, fallback=True, calibrated=True).fit(nab_cpu)
    once = build_forecaster("level", STEP, fallback=True, calibrated="once").fit(nab_cpu)
    assert len(model.inner.primary._values) == len(nab_cpu)  # fitted on all of it
    assert len(once.inner.primary._values) < len(nab_cpu)  # fitted before the held-out days
    assert model.calibrated and once.calibrated


def test_auto_is_calibrated_from_its_own_validation(nab_cpu) -> None:
    members = ("naive", "level")
    model = build_forecaster("auto", STEP, fallback=True, calibrated=True, members=members)
    model.fit(nab_cpu)
    auto = model.inner.primary
    assert len(auto.validation_forecasts) > 10 and model.calibrated
    assert auto.trained_range == (nab_cpu.index[0], nab_cpu.index[-1])


def test_chunked_updates_score_the_same_checkpoints_as_one_point_updates() -> None:
    # the noise doubles after the fit; no predict is asked for between the updates
    y = noise_series([(1500, 5.0), (2000, 10.0)], seed=3)
    chunked = ConformalForecaster(KnownMean(STEP, 1.0), STEP).fit(y.iloc[:1500])
    single = ConformalForecaster(KnownMean(STEP, 1.0), STEP).fit(y.iloc[:1500])
    calm = chunked.factors(12)
    chunked.update(y.iloc[1500:])
    for i in range(1500, len(y)):
        single.update(y.iloc[i : i + 1])
    assert chunked.factors(12) == pytest.approx(single.factors(12))
    assert chunked.alpha == pytest.approx(single.alpha)
    # a day-long chunk recalibrates as the daemon's ticks do: the band follows the noise
    assert chunked.factors(12) == pytest.approx(2 * calm, rel=0.2)


def test_points_already_seen_are_not_scored_twice() -> None:
    y = noise_series([(1500, 5.0), (300, 5.0)], seed=4)
    a = ConformalForecaster(KnownMean(STEP, 1.0), STEP).fit(y.iloc[:1500])
    b = ConformalForecaster(KnownMean(STEP, 1.0), STEP).fit(y.iloc[:1500])
    a.update(y.iloc[1500:1650]).update(y.iloc[1400:])  # overlapping: the old points ignored
    b.update(y.iloc[1500:])
    assert a.factors(12) == pytest.approx(b.factors(12))
    assert len(a.pool.scores) == len(b.pool.scores)


class LastValue(BaseForecaster):
    """The last value, with a band of a fixed half-width at every lead (wrong in shape
    on a random walk, whose error grows like the square root of the lead)."""

    name = "last_value"

    def _fit(self, values: np.ndarray) -> None:
        pass

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        mean = np.full(horizon, self._history[-1])
        z = {0.05: -1.0, 0.95: 1.0}
        return mean, {q: mean + z.get(q, 0.0) for q in quantiles}


def coverage_per_lead(model: ConformalForecaster, y: pd.Series, start: int) -> np.ndarray:
    inside, pos = [], start
    while pos + 12 < len(y):
        fc = model.predict(12, (0.05, 0.95))
        actual = y.to_numpy()[pos + 1 : pos + 13]
        inside.append((actual >= fc.quantiles[0.05]) & (actual <= fc.quantiles[0.95]))
        model.update(y.iloc[pos + 1 : pos + 13])
        pos += 12
    return np.mean(inside, axis=0)


def test_per_lead_miss_rates_correct_a_band_of_the_wrong_shape() -> None:
    rng = np.random.default_rng(6)
    values = 1000 + np.cumsum(rng.normal(0, 1, 6000))
    y = pd.Series(values, index=pd.date_range(START, periods=len(values), freq=STEP))
    per_lead = ConformalForecaster(LastValue(STEP), STEP, per_lead=True, gamma=0.05)
    pooled = ConformalForecaster(LastValue(STEP), STEP, per_lead=False, gamma=0.005)
    cov = {}
    for name, model in (("per_lead", per_lead), ("pooled", pooled)):
        model.fit(y.iloc[:1500])
        cov[name] = coverage_per_lead(model, y, 1499)
    # one stretch for every lead: too wide at the first, too narrow at the last
    assert cov["pooled"][0] > 0.97 and cov["pooled"][-1] < 0.85
    # a miss rate per lead: each lead near 90%, the stretch growing with the lead
    assert 0.84 <= cov["per_lead"][0] <= 0.96 and 0.84 <= cov["per_lead"][-1] <= 0.96
    f = per_lead.factors(12)
    assert f[-1] > 2.5 * f[0]


def test_certain_leads_count_as_hits_or_misses_only_when_asked() -> None:
    counted = ScorePool(leads=None, certain=True)
    skipped = ScorePool(leads=None, certain=False)
    leads = np.arange(1, 13)
    for pool in (counted, skipped):
        for _ in range(10):  # half of each forecast certain: exact (0) or missed (inf)
            scores = np.r_[np.linspace(0.2, 2.0, 6), [0.0] * 4, [np.inf] * 2]
            pool.add(leads, scores, certain=np.r_[[False] * 6, [True] * 6])
    assert len(skipped.scores) == 60 and len(counted.scores) == 120
    # counted, a sixth of the outcomes no stretch covers: the largest finite score
    assert counted.factors(3) == pytest.approx(np.full(3, 2.0))
    finite = np.tile(np.linspace(0.2, 2.0, 6), 10)
    assert skipped.factors(3)[0] == pytest.approx(np.quantile(finite, 0.9))


def test_a_model_stored_before_score_pools_predicts_as_it_did() -> None:
    y = noise_series([(1500, 5.0)])
    model = ConformalForecaster(KnownMean(STEP, 1.0), STEP, per_lead=False).fit(y.iloc[:1200])
    state = dict(model.__dict__)
    pool = state.pop("pool")
    state.pop("log")
    scores = deque(pool.scores, maxlen=pool.scores.maxlen)
    state |= {"_scores": scores, "alpha": float(pool.alphas[0]), "gamma": pool.gamma}
    old = ConformalForecaster.__new__(ConformalForecaster)
    old.__setstate__(state)
    for m in (model, old):
        m.update(y.iloc[1200:1400])
    np.testing.assert_allclose(
        old.predict(12, (0.05, 0.95)).quantiles[0.95],
        model.predict(12, (0.05, 0.95)).quantiles[0.95],
    )


def test_replayed_scores_give_the_bands_the_model_gave() -> None:
    y = noise_series([(1500, 5.0), (1500, 9.0)], seed=7)
    log: list = []
    logged = ConformalForecaster(KnownMean(STEP, 1.0), STEP, log=log).fit(y.iloc[:1500])
    other = ConformalForecaster(KnownMean(STEP, 1.0), STEP, per_lead=True, gamma=0.05)
    other.fit(y.iloc[:1500])
    bands = {"logged": [], "other": []}
    for pos in range(1500, 2900, 100):
        for name, m in (("logged", logged), ("other", other)):
            m.update(y.iloc[pos : pos + 100])
            bands[name].append(m.predict(12, (0.05, 0.95)).quantiles[0.95])
    for name, pool in (
        ("logged", make_pool(12)),
        ("other", make_pool(12, per_lead=True, gamma=0.05)),
    ):
        factors = replay(log, pool)
        for c, band in zip(factors, bands[name], strict=True):
            raw = {0.95: np.full(12, 101.0)}
            np.testing.assert_allclose(stretch(np.full(12, 100.0), raw, c)[0.95], band)


@pytest.mark.parametrize("kind", [k for k in KNOWN_KINDS if k not in NEEDS_TORCH or HAS_TORCH])
def test_every_calibrated_model_covers_90_percent_of_known_noise(kind: str) -> None:
    # white noise about a level, as the daemon builds the model (fallback, conformal):
    # every model's calibrated 90% band covers about 90% of it, online
    y = noise_series([(1700, 5.0)], seed=9)
    params = {k: v for k, v in FAST_PARAMS.get(kind, {}).items() if k != "eval_origins"}
    model = build_forecaster(kind, STEP, fallback=True, calibrated=True, **params)
    model.fit(y.iloc[:1100])
    assert model.calibrated
    assert 0.84 <= coverage_online(model, y, 1099) <= 0.96


def calm_after_noise_stretch(age_out: float) -> tuple[float, float]:
    """(half-width of the calibrated 90 % band after a day online, coverage over the
    next two days) when the fit saw a noisy stretch (N(0, 10)) and online it is calm
    (N(0, 2))."""
    y = noise_series([(1000, 10.0), (900, 2.0)], seed=11)
    model = ConformalForecaster(KnownMean(STEP, 1.0), STEP, age_out=age_out).fit(y.iloc[:1000])
    model.update(y.iloc[1000:1300])  # 25 checkpoints scored online
    half = float(model.factors(12)[0])  # KnownMean's own half-width is 1
    return half, coverage_online(model, y, 1299)


def test_a_calm_stretch_after_a_noisy_fit_tightens_the_band_sooner_with_age_out() -> None:
    kept, cov_kept = calm_after_noise_stretch(0.0)
    aged, cov_aged = calm_after_noise_stretch(3.0)
    # 90 % of N(0, 2) lies within 3.29 of the mean: the fit's noisy scores, kept,
    # leave the band about three times that and over-covering; aged out, it comes near
    # (under it: the miss rate rose while the band over-covered)
    assert aged == pytest.approx(1.645 * 2.0, rel=0.3)
    assert kept > 2.5 * aged and cov_kept > 0.95
    assert 0.85 <= cov_aged <= 0.95


def test_age_out_drops_only_fit_scores_and_never_below_the_minimum() -> None:
    pool = ScorePool(leads=None, age_out=2.0, size=100)
    leads = np.arange(1, 13)
    for _ in range(6):
        pool.add(leads, np.full(12, 5.0), fit=True)  # 72 fit scores
    pool.add(leads, np.full(12, 1.0))  # online: 84 pooled, 24 of the fit's dropped
    assert (len(pool.scores), pool.fit_left) == (60, 48)
    pool.add(leads, np.full(12, 1.0))  # 2 x 12 due, but no fewer than 60 are kept
    assert (len(pool.scores), pool.fit_left) == (60, 36)
    assert list(pool.scores)[-24:] == [1.0] * 24 and list(pool.scores)[:36] == [5.0] * 36


def test_certain_leads_with_rate_move_the_miss_rate_but_are_not_pooled() -> None:
    rate = ScorePool(leads=None, certain="rate")
    skipped = ScorePool(leads=None, certain=False)
    leads = np.arange(1, 13)
    finite = np.linspace(0.2, 2.0, 6)
    for _ in range(20):  # a sixth of every forecast's outcomes are certain misses
        for pool in (rate, skipped):
            scores = np.r_[finite, [0.0] * 4, [np.inf] * 2]
            pool.add(leads, scores, certain=np.r_[[False] * 6, [True] * 6])
    assert len(rate.scores) == len(skipped.scores) == 120
    assert np.isfinite(np.asarray(rate.scores)).all()
    # the certain misses (more than the 10 % allowed) lower the miss rate; the stretch
    # is its quantile over the finite scores alone
    assert rate.alphas[0] < skipped.alphas[0]
    pooled = np.asarray(rate.scores)
    assert rate.factors(1)[0] == pytest.approx(np.quantile(pooled, 1 - rate.alphas[0]))
    with pytest.raises(ValueError):
        ScorePool(leads=None, certain="sometimes")


def test_a_log_without_fit_marks_replays_as_one_with_them() -> None:
    y = noise_series([(1500, 5.0), (1500, 2.0)], seed=3)
    log: list = []
    model = ConformalForecaster(KnownMean(STEP, 1.0), STEP, log=log).fit(y.iloc[:1500])
    model.predict(12, (0.05, 0.95))  # as the bench's runs have it: a forecast at the fit
    for pos in range(1500, 2900, 100):
        model.update(y.iloc[pos : pos + 100])
        model.predict(12, (0.05, 0.95))
    assert any(e[3] for e in log if isinstance(e, tuple))
    old = [e[:3] if isinstance(e, tuple) else e for e in log]  # as feat8's runs stored it
    # the oldest logs have no certain leads either (this model's band always has width)
    oldest = [e[:2] if isinstance(e, tuple) else e for e in log]
    assert not any(e[2].any() for e in log if isinstance(e, tuple))
    # (logs that old lack the edges at zero too: they replay into a pool without floor)
    a = replay(log, make_pool(12, age_out=3.0, floor=False))
    b = replay(old, make_pool(12, age_out=3.0, floor=False))
    c = replay(oldest, make_pool(12, age_out=3.0, floor=False))
    for x, z, w in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x, z)
        np.testing.assert_array_equal(x, w)


def test_a_pool_stored_before_age_out_keeps_its_fit_scores(pool_stored_without) -> None:
    old = pool_stored_without("age_out", "fit_left")
    old.add(np.arange(1, 13), np.ones(12))
    assert len(old.scores) == 72
