"""``auto`` picks, by its own rolling validation, the model a synthetic series is built for."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.forecasters.registry import build_forecaster
from autoscaler.model import ForecastError

STEP = timedelta(minutes=5)
N = 4 * 288  # four days at 5 minutes
MEMBERS = ("naive", "seasonal_naive", "level", "linear", "arima")
HAS_TORCH = importlib.util.find_spec("torch") is not None


def series(kind: str, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(N)
    if kind == "naive":  # a random walk: the last value is the best guess
        values = 500 + np.cumsum(rng.normal(0, 2, N))
    elif kind == "seasonal_naive":  # an exact daily shape with a little noise
        values = 200 + 80 * np.sin(2 * np.pi * t / 288) ** 3 + rng.normal(0, 1, N)
    elif kind == "level":  # white noise about a constant: smoothing beats the last value
        values = 100 + rng.normal(0, 10, N)
    elif kind == "linear":  # a steady ramp: only a line extrapolates it
        values = 10 + 0.5 * t + rng.normal(0, 0.05, N)
    elif kind == "arima":  # an autocorrelated AR(2) about its mean, no season
        values = np.zeros(N)
        e = rng.normal(0, 1, N)
        for i in range(2, N):
            values[i] = 1.2 * values[i - 1] - 0.4 * values[i - 2] + e[i]
        values += 100
    elif kind == "ets":  # a local level: a random walk seen through noise of the same size
        # (the best smoothing is about 0.6: level's 0.2 lags, the last value is too noisy)
        values = 100 + np.cumsum(rng.normal(0, 2, N)) + rng.normal(0, 2, N)
    elif kind == "theta":  # a drifting local level seen through noise: smoothing plus drift
        values = 100 + 0.3 * t + np.cumsum(rng.normal(0, 0.5, N)) + rng.normal(0, 4, N)
    elif kind == "mlp":  # a sawtooth of 25 steps (no hour, no day), a curve within each tooth
        values = 100 + 40 * ((t % 25) / 25.0) ** 3 + rng.normal(0, 0.5, N)
    else:
        raise ValueError(kind)
    return pd.Series(
        values, index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=N, freq=STEP)
    )


# ARIMA with a mean is the optimal model of white noise about a constant, and ARIMA(0,1,1)
# is exponential smoothing: both rightly tie or win there, so the level and ets cases are
# judged against the other members.
CASES = {
    **{kind: MEMBERS for kind in MEMBERS},
    "level": tuple(m for m in MEMBERS if m != "arima"),
    "ets": ("naive", "seasonal_naive", "level", "linear", "ets"),
    "mlp": (*MEMBERS, "mlp"),
    "theta": (*MEMBERS, "theta"),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_auto_picks_the_model_the_series_favours(kind: str) -> None:
    if kind == "mlp" and not HAS_TORCH:
        pytest.skip("mlp needs the ml extra (torch)")
    auto = build_forecaster("auto", STEP, members=CASES[kind]).fit(series(kind))
    top = max(auto.weights, key=auto.weights.get)
    assert top == kind, f"auto chose {auto.choice} (validation errors {auto.scores})"
    fc = auto.predict(12, (0.05, 0.95))
    assert (fc.quantiles[0.05] <= fc.mean).all() and (fc.mean <= fc.quantiles[0.95]).all()


def test_auto_switches_when_the_series_changes_regime() -> None:
    # white noise about a constant (level wins), then a random walk (naive wins)
    rng = np.random.default_rng(5)
    calm = 100 + rng.normal(0, 10, N)
    walk = calm[-1] + np.cumsum(rng.normal(0, 5, 2 * 288))
    values = np.r_[calm, walk]
    y = pd.Series(
        values,
        index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=len(values), freq=STEP),
    )
    auto = build_forecaster("auto", STEP, members=("naive", "level")).fit(y.iloc[:N])
    assert max(auto.weights, key=auto.weights.get) == "level"
    for i in range(N, len(values), 7):  # updates of any size score the same checkpoints
        auto.update(y.iloc[i : i + 7])
    assert max(auto.weights, key=auto.weights.get) == "naive", auto.scores


def test_chunked_and_single_point_updates_give_the_same_choice() -> None:
    y = series("arima", seed=2)
    a = build_forecaster("auto", STEP, members=("naive", "level", "linear")).fit(y.iloc[:800])
    b = build_forecaster("auto", STEP, members=("naive", "level", "linear")).fit(y.iloc[:800])
    a.update(y.iloc[800:])
    for i in range(800, N):
        b.update(y.iloc[i : i + 1])
    assert a.scores == pytest.approx(b.scores) and a.weights == b.weights


def test_member_params_reach_the_member_and_are_checked() -> None:
    from autoscaler.forecasters.arima import POLISH
    from autoscaler.model import ForecastError

    y = series("arima", seed=3)
    members = ("naive", "level", "arima")
    plain = build_forecaster("auto", STEP, members=members).fit(y)
    fast = build_forecaster(
        "auto", STEP, members=members, member_params={"arima": {"polish": 0}, "level": {"alpha": 1}}
    ).fit(y)
    # auto's default skips its arima member's polish; ensemble's and a plain arima's do not
    assert plain.models["arima"].polish == 0 and fast.models["arima"].polish == 0
    # and keeps arima's earlier five orders, where a plain arima searches the wide grid
    from autoscaler.forecasters.arima import DEFAULT_ORDERS, NARROW_ORDERS

    assert plain.models["arima"].orders == NARROW_ORDERS != DEFAULT_ORDERS
    assert build_forecaster("arima", STEP).orders == DEFAULT_ORDERS
    ens = build_forecaster("ensemble", STEP, members=members).fit(y)
    assert ens.models["arima"].polish == POLISH == build_forecaster("arima", STEP).polish
    slow = build_forecaster("auto", STEP, members=members, member_params={}).fit(y)
    assert slow.models["arima"].polish == POLISH
    # a default for a member the caller left out is dropped, not an error
    assert build_forecaster("auto", STEP, members=("naive", "level")).member_params == {}
    assert fast.models["level"].alpha == 1.0 and plain.models["level"].alpha == 0.2
    assert fast.params["member_params"] == {"arima": {"polish": 0}, "level": {"alpha": 1}}
    # a level of alpha 1 is the last value, which is naive's forecast
    np.testing.assert_allclose(
        fast.models["level"].predict(3).mean, fast.models["naive"].predict(3).mean
    )
    for bad, message in (
        ({"lstm": {}}, "maps members"),
        ({"arima": {"polsh": 0}}, "unknown parameter"),
        ({"arima": 0}, "maps members"),
        ({"arima": {"seed": 1}}, "seed"),
    ):
        with pytest.raises(ForecastError, match=message):
            build_forecaster("auto", STEP, members=members, member_params=bad)


def _ar_about(mean: float, n: int, rng: np.random.Generator) -> np.ndarray:
    values, e = np.zeros(n), rng.normal(0, 1, n)
    for i in range(1, n):
        values[i] = 0.8 * values[i - 1] + e[i]
    return mean + values


def test_the_break_check_follows_the_member_that_is_right_after_a_drop() -> None:
    # an AR(1) about 33 (arima's, about its mean), then the group is emptied: about 0,
    # a step after a checkpoint, so that rolling validation learns it only from the next
    # one, scored 35 steps after the drop (checkpoints every 24 steps on six days)
    rng = np.random.default_rng(8)
    fit, drop = 6 * 288, 121
    values = np.r_[_ar_about(33, fit + drop, rng), np.abs(rng.normal(0, 0.3, 120))]
    y = pd.Series(
        values,
        index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=len(values), freq=STEP),
    )
    members = ("naive", "level", "arima")
    checked = build_forecaster("auto", STEP, members=members).fit(y.iloc[:fit])
    unchecked = build_forecaster("auto", STEP, members=members, recent=0).fit(y.iloc[:fit])
    choices: dict[str, list[str]] = {"checked": [], "unchecked": []}
    for i in range(fit, len(values)):
        for name, auto in (("checked", checked), ("unchecked", unchecked)):
            auto.update(y.iloc[i : i + 1])
            choices[name].append(auto.choice)
    # before the drop both choose arima: the check stays quiet
    assert choices["checked"][:drop] == choices["unchecked"][:drop] == ["arima 1.00"] * drop
    # 15 steps after it the checked auto has turned to naive (its short forecasts made
    # after the drop seen), the other still follows arima
    assert choices["checked"][drop + 15 : drop + 30] == ["naive 1.00"] * 15
    assert choices["unchecked"][drop + 15 : drop + 30] == ["arima 1.00"] * 15
    assert checked.predict(3, (0.05, 0.95)).mean.max() < 2.0


def test_the_break_check_is_for_auto_only_and_chunk_independent() -> None:
    y = series("arima", seed=3)
    assert build_forecaster("ensemble", STEP, members=("naive", "level")).recent == 0
    with pytest.raises(ForecastError, match="recent apply to auto only"):
        build_forecaster("ensemble", STEP, members=("naive", "level"), recent=3)
    a = build_forecaster("auto", STEP, members=("naive", "level", "arima")).fit(y.iloc[:800])
    b = build_forecaster("auto", STEP, members=("naive", "level", "arima")).fit(y.iloc[:800])
    a.update(y.iloc[800:])
    for i in range(800, N):
        b.update(y.iloc[i : i + 1])
    for k, (s, w) in a.recent_errors.items():
        assert (s, w) == pytest.approx(b.recent_errors[k])
    assert a.weights == b.weights and a.recent_errors.keys() == b.recent_errors.keys()


def test_the_per_horizon_choice_takes_the_first_leads_from_their_own_best() -> None:
    # an AR(1) about a constant: over the first steps the last value (naive) is best,
    # over the hour the level the series returns to helps (alone or in the combination)
    rng = np.random.default_rng(4)
    values, e = np.zeros(N), rng.normal(0, 1, N)
    for i in range(1, N):
        values[i] = 0.9 * values[i - 1] + e[i]
    y = pd.Series(
        100 + values,
        index=pd.date_range(datetime(2024, 1, 1, tzinfo=UTC), periods=N, freq=STEP),
    )
    members = ("naive", "level")
    split = build_forecaster("auto", STEP, members=members, split=3).fit(y)
    whole = build_forecaster("auto", STEP, members=members, split=0).fit(y)
    assert split.weights == whole.weights and "naive" not in whole.choice.split(",")[0]
    assert split.weights_short == {"naive": 1.0}, split.scores
    assert "leads 1-3: naive" in split.choice and "leads" not in whole.choice
    a, b = split.predict(12, (0.05, 0.95)), whole.predict(12, (0.05, 0.95))
    assert a.mean[:3] == pytest.approx([y.iloc[-1]] * 3)
    assert a.mean[3:] == pytest.approx(b.mean[3:]) and a.mean[0] != pytest.approx(b.mean[0])
    assert (a.quantiles[0.05] <= a.mean).all() and (a.mean <= a.quantiles[0.95]).all()
    # the ensemble has no choice to split; a split of the whole horizon is none
    # the choice is auto's, and over fewer leads than the validation's horizon
    with pytest.raises(ForecastError, match="split apply to auto only"):
        build_forecaster("ensemble", STEP, members=members, split=3)
    with pytest.raises(ForecastError, match="must be shorter than eval_horizon"):
        build_forecaster("auto", STEP, members=members, split=12)


def test_a_margin_keeps_the_combination_unless_a_member_beats_it_by_that_much() -> None:
    y = series("level", seed=1)  # noise about a constant: level beats the last value
    members = ("naive", "level")
    plain = build_forecaster("auto", STEP, members=members).fit(y)
    assert plain.weights == {"level": 1.0}
    ratio = plain.scores["level"] / plain.combo_score
    assert 0.7 < ratio < 1  # level beats the combination, by less than the margin below
    kept = build_forecaster("auto", STEP, members=members, margin=(1 - ratio) * 1.5).fit(y)
    assert set(kept.weights) == {"naive", "level"}, kept.choice
    beaten = build_forecaster("auto", STEP, members=members, margin=(1 - ratio) / 2).fit(y)
    assert beaten.weights == {"level": 1.0}
