"""Seasonal profiles and length parameters."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from forecast_data import STEP

from autoscaler.forecasters import season
from autoscaler.forecasters.season import MIN_STRENGTH, decompose, estimate_profile, fit_profile
from autoscaler.forecasters.series_input import steps_per_day, to_steps
from autoscaler.model import ForecastError
from autoscaler.traces import load_trace


def test_nasa_has_a_strong_daily_profile(nasa_5m):
    prof = decompose(nasa_5m.to_numpy(), 288, weekly=True)
    assert prof.period == 288 and prof.strength > MIN_STRENGTH
    # Web traffic peaks in the (US) afternoon and bottoms out at night.
    hours = nasa_5m.index[-288:].hour
    pos = np.arange(len(nasa_5m) - 288, len(nasa_5m))
    seasonal = prof.at(pos)
    assert (
        seasonal[(hours >= 15) & (hours < 20)].mean() > seasonal[(hours >= 5) & (hours < 9)].mean()
    )


def test_weekly_profile_needs_two_weeks(nasa_path):
    y = load_trace(nasa_path, fill="previous", resample=STEP).series.to_numpy()
    assert decompose(y[: 13 * 288], 288, weekly=True).period == 288
    assert decompose(y[: 15 * 288], 288, weekly=True).period == 7 * 288
    assert decompose(y[: 15 * 288], 288, weekly=False).period == 288


def test_a_profile_is_kept_only_where_it_helps_an_hour_ahead(nab_cpu):
    noise = nab_cpu.to_numpy() - nab_cpu.mean()
    t = np.arange(len(noise))
    seasonal = 40 * np.sin(2 * np.pi * t / 288) + 100
    assert fit_profile(seasonal + 0.2 * noise, 288).period == 288
    # The same real series without a cycle: a "profile" would only be noise.
    assert fit_profile(nab_cpu.to_numpy(), 288).period == 0


def test_no_profile_from_too_little_or_flat_data(nab_cpu):
    assert fit_profile(nab_cpu.to_numpy()[:500], 288).period == 0
    assert fit_profile(np.full(1000, 3.0), 288).period == 0


def test_lengths_in_steps_or_durations():
    assert to_steps("20m", STEP, name="x") == 4
    assert to_steps(7, STEP, name="x") == 7
    assert to_steps("12", STEP, name="x") == 12
    assert steps_per_day(STEP) == 288 and steps_per_day(timedelta(hours=2)) == 12
    with pytest.raises(ForecastError, match="x: 7m is not a whole number"):
        to_steps("7m", STEP, name="x")
    with pytest.raises(ForecastError, match="x must be at least one step"):
        to_steps(0, STEP, name="x")
    with pytest.raises(ForecastError, match="invalid duration"):
        to_steps("soon", STEP, name="x")


@pytest.mark.parametrize("extra", [0, 3])
def test_a_one_minute_profile_is_estimated_on_five_minute_means_in_place(nab_cpu, extra):
    """At 1-minute steps the profile comes from block means, repeated per block and
    aligned to the series' end: a daily square wave with edges on block boundaries
    comes back at the same positions (shifted by a step, the edges would miss)."""
    day = 1440
    n = 4 * day + extra
    pos = np.arange(n)
    # blocks of five end at the last value: they start at positions (n % 5) + 5j
    start = n % 5
    high = ((pos - start) % day >= 600) & ((pos - start) % day < 900)
    noise = np.resize(nab_cpu.to_numpy() - nab_cpu.mean(), n)
    y = 100 + 40 * high + 0.1 * noise
    prof = fit_profile(y, day)
    assert prof.period == day and len(prof.profile) == day
    seasonal = prof.at(pos[-day:])
    hi, lo = seasonal[high[-day:]], seasonal[~high[-day:]]
    assert hi.min() > lo.max()  # every high minute above every low one: no misaligned edge
    assert 30 < hi.mean() - lo.mean() < 50


def test_the_gain_a_profile_must_bring_is_a_parameter():
    # a daily cycle under noise: the profile helps persistence on the held-out day, by
    # a margin between the two gains asked for
    rng = np.random.default_rng(8)
    t = np.arange(4 * 288)
    y = 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, len(t)).cumsum() * 0.2 + 50
    kept = fit_profile(y, 288)
    assert kept.period == 288
    refused = fit_profile(y, 288, gain=0.05)
    assert refused.period == 0 and refused.strength == kept.strength


def test_a_repeated_profile_fit_is_remembered_and_equal_to_a_fresh_estimate(nab_cpu):
    noise = nab_cpu.to_numpy() - nab_cpu.mean()
    y = 40 * np.sin(2 * np.pi * np.arange(len(noise)) / 288) + 100 + 0.2 * noise
    first = fit_profile(y, 288)
    fresh = estimate_profile(y, 288)
    assert first.period == fresh.period == 288 and first.strength == fresh.strength
    np.testing.assert_array_equal(first.profile, fresh.profile)
    assert fit_profile(y.copy(), 288) is first  # equal values: the same profile, not refitted
    # one value changed, or another setting: estimated again
    changed = y.copy()
    changed[100] += 1.0
    assert fit_profile(changed, 288) is not first
    assert fit_profile(y, 288, gain=0.05) is not first
    assert fit_profile(y, 288, weekly=False) is not first
    # only the last few are kept
    for k in range(season._MEMO_SIZE):
        fit_profile(y + k + 1.0, 288)
    again = fit_profile(y, 288)
    assert again is not first and again.strength == first.strength


def hourly_spikes(days: int, seed: int) -> np.ndarray:
    """An auto-scaling group's CPU with a job every hour (a spike over three 5-minute
    steps) on a noisy base, the job skipped one hour in five: a period of 12 steps, and
    so of a day too."""
    rng = np.random.default_rng(seed)
    y = 31 + rng.normal(0, 1.2, days * 288)
    hours = np.arange(6, len(y) - 3, 12)
    runs = rng.random(len(hours)) > 0.2
    peaks = rng.uniform(60, 70, len(hours))
    for h, peak, ran in zip(hours, peaks, runs, strict=True):
        if ran:
            y[h : h + 3] += np.array([0.2, 1.0, 0.4]) * peak
    return y


def test_an_hourly_pattern_is_kept_when_the_check_spans_the_leads():
    # 60 minutes ahead, plain persistence is already seasonal naive for an hourly pattern:
    # at that lead alone the profile often seems not to help; over leads 1-12 it does
    series = [hourly_spikes(7, seed) for seed in range(5)]
    assert sum(fit_profile(y, 288, check="ends").period == 0 for y in series) >= 3
    for y in series:
        kept = fit_profile(y, 288, check="span")
        assert kept.period == 288 and kept.strength > MIN_STRENGTH
        # the profile is the pattern: its peak each hour of the last day at the job's step
        last_hour = kept.at(np.arange(len(y) - 12, len(y)))
        assert (len(y) - 12 + int(np.argmax(last_hour))) % 12 == 7


def test_the_spanning_check_still_refuses_a_profile_of_noise(nab_cpu):
    assert fit_profile(nab_cpu.to_numpy(), 288, check="span").period == 0
    rng = np.random.default_rng(5)
    ar = np.zeros(6 * 288)
    for i in range(1, len(ar)):  # AR(1) at 0.95: slow swings that pass for a daily cycle
        ar[i] = 0.95 * ar[i - 1] + rng.normal()
    assert fit_profile(ar + 50, 288, check="span").period == 0


def test_the_check_is_named():
    with pytest.raises(ValueError, match="check must be one of span, ends"):
        fit_profile(hourly_spikes(4, seed=1), 288, check="all")
    with pytest.raises(ForecastError, match="season_check must be one of span, ends"):
        from autoscaler.forecasters.registry import build_forecaster

        build_forecaster("ets", STEP, season_check="all")
