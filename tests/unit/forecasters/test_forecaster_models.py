"""Model-specific behaviour: baselines' exact outputs, ARIMA updates, fallback, input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecast_data import STEP

from autoscaler.forecasters.arima import ArimaForecaster
from autoscaler.forecasters.baselines import (
    LinearForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
)
from autoscaler.forecasters.fallback import FallbackForecaster
from autoscaler.forecasters.registry import KNOWN_KINDS, build_forecaster
from autoscaler.model import ForecastError


def test_naive_is_the_last_value_with_quantiles_of_past_changes(nab_cpu):
    fc = NaiveForecaster(STEP).fit(nab_cpu).predict(3, (0.1, 0.9))
    v = nab_cpu.to_numpy()
    np.testing.assert_array_equal(fc.mean, v[-1])
    for h in (1, 2, 3):
        changes = v[h:] - v[:-h]
        assert fc.quantiles[0.1][h - 1] == pytest.approx(v[-1] + np.quantile(changes, 0.1))
        assert fc.quantiles[0.9][h - 1] == pytest.approx(v[-1] + np.quantile(changes, 0.9))


def test_seasonal_naive_repeats_yesterday(nasa_5m):
    model = SeasonalNaiveForecaster(STEP).fit(nasa_5m)
    assert model.season == 288
    fc = model.predict(300)
    v = nasa_5m.to_numpy()
    np.testing.assert_array_equal(fc.mean[:288], v[-288:])
    np.testing.assert_array_equal(fc.mean[288:], v[-288:-276])


def test_seasonal_naive_takes_a_configured_season(nasa_5m):
    model = SeasonalNaiveForecaster(STEP, season="1h").fit(nasa_5m)
    assert model.season == 12 and model.min_history == 13
    np.testing.assert_array_equal(model.predict(12).mean, nasa_5m.to_numpy()[-12:])


@pytest.mark.parametrize(("lookback", "points"), [(None, 48), ("20m", 4)])
def test_linear_extrapolates_the_line_through_its_lookback(nab_cpu, lookback, points):
    # the default is four hours (48 five-minute points); Monasca's 20 minutes on request
    model = LinearForecaster(STEP, **({} if lookback is None else {"lookback": lookback}))
    model.fit(nab_cpu)
    assert model.lookback == points
    v = nab_cpu.to_numpy()[-points:]
    slope, intercept = np.polyfit(np.arange(points), v, 1)
    expected = np.maximum(intercept + slope * np.arange(points, points + 6), 0)
    np.testing.assert_allclose(model.predict(6).mean, expected)


def test_arima_update_filters_new_points_without_refitting(nab_cpu):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = ArimaForecaster(STEP).fit(nab_cpu.iloc[:-12])
    params = model.fitted_params.copy()
    order = model.order
    model.update(nab_cpu.iloc[-12:])
    np.testing.assert_array_equal(model.fitted_params, params)
    fc = model.predict(6)

    # The same parameters run over all the data from scratch give the same forecast.
    values = nab_cpu.to_numpy()
    pos = np.arange(len(values))
    r = values - model._season.at(pos) - model._offset
    res = SARIMAX(r, order=order, trend="n").filter(params)
    expected = (
        res.get_forecast(6).predicted_mean
        + model._season.at(np.arange(len(values), len(values) + 6))
        + model._offset
    )
    np.testing.assert_allclose(fc.mean, np.maximum(expected, 0), rtol=1e-6)


def test_arima_never_uses_a_seasonal_order(nab_cpu):
    model = ArimaForecaster(STEP).fit(nab_cpu)
    # A seasonal order with s=288 would need hundreds of states; ours has a handful.
    assert model._kalman is not None and model._kalman.T.shape[0] <= 4
    assert model._season.period in (0, 288)


class _Broken:
    """A model that cannot be fitted (a numerical failure deep inside a library)."""

    name = "broken"
    min_history = 2

    def fit(self, y):
        raise np.linalg.LinAlgError("Schur decomposition solver error")


def test_fallback_to_seasonal_naive_says_so(nab_cpu):
    model = FallbackForecaster(_Broken(), STEP).fit(nab_cpu)
    fc = model.predict(4)
    assert fc.model == "seasonal_naive"
    assert "fell back to seasonal_naive because broken: Schur" in fc.note
    np.testing.assert_array_equal(fc.mean, nab_cpu.to_numpy()[-288:-284])


def test_short_history_falls_back_to_naive_then_errors(nab_cpu):
    model = build_forecaster("arima", STEP, fallback=True).fit(nab_cpu.iloc[:20])
    fc = model.predict(3)
    assert fc.model == "naive" and "arima needs at least 30 points" in fc.note
    with pytest.raises(ForecastError, match="naive needs at least 2 points"):
        build_forecaster("arima", STEP, fallback=True).fit(nab_cpu.iloc[:1])


def test_input_errors_are_clear(nab_cpu):
    model = NaiveForecaster(STEP)
    with pytest.raises(ForecastError, match="no finite values"):
        model.fit(pd.Series(np.nan, index=nab_cpu.index[:10]))
    with pytest.raises(ForecastError, match="not regular"):
        model.fit(nab_cpu.iloc[[0, 1, 3, 4]])
    with pytest.raises(ForecastError, match="DatetimeIndex"):
        model.fit(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(ForecastError, match="before fit"):
        model.predict(3)
    model.fit(nab_cpu.iloc[:10])
    with pytest.raises(ForecastError, match="expected the next point"):
        model.update(nab_cpu.iloc[11:13])
    with pytest.raises(ForecastError, match="horizon"):
        model.predict(0)
    with pytest.raises(ForecastError, match="quantile"):
        model.predict(3, (0.5, 1.0))


def test_update_ignores_points_already_seen(nab_cpu):
    model = NaiveForecaster(STEP).fit(nab_cpu.iloc[:100])
    model.update(nab_cpu.iloc[50:100])
    assert model.predict(1).index[0] == nab_cpu.index[100]
    model.update(nab_cpu.iloc[90:110])
    assert model.predict(1).mean[0] == nab_cpu.iloc[109]


def test_registry_rejects_unknown_kinds_and_parameters():
    assert {"naive", "seasonal_naive", "linear", "ets", "arima", "mlp", "lstm", "auto"} <= set(
        KNOWN_KINDS
    )
    with pytest.raises(ForecastError, match="unknown forecaster 'prophet'"):
        build_forecaster("prophet", STEP)
    with pytest.raises(ForecastError, match=r"unknown parameter.*lookbak"):
        build_forecaster("linear", STEP, lookbak=4)
    with pytest.raises(ForecastError, match="lookback"):
        build_forecaster("linear", STEP, lookback="7m")


def test_auto_and_ensemble_weigh_members_by_their_recent_error(nasa_5m):
    ens = build_forecaster("ensemble", STEP, members=("naive", "seasonal_naive", "linear"), top=2)
    ens.fit(nasa_5m)
    assert set(ens.scores) == {"naive", "seasonal_naive", "linear"}
    assert len(ens.weights) == 2 and sum(ens.weights.values()) == pytest.approx(1.0)
    worst = max(ens.scores, key=ens.scores.get)
    assert worst not in ens.weights
    auto = build_forecaster("auto", STEP, members=("naive", "seasonal_naive", "linear"), top=2)
    auto.fit(nasa_5m)
    assert len(auto.weights) in (1, 2)
    assert "weights:" in auto.predict(3).note


def test_importing_the_registry_and_baselines_needs_no_statsmodels_or_torch():
    import subprocess
    import sys

    code = (
        "import sys; from datetime import timedelta; import pandas as pd;"
        "from autoscaler.forecasters.registry import build_forecaster;"
        "y = pd.Series(range(400), index=pd.date_range('2024-01-01', periods=400, freq='5min'));"
        "build_forecaster('seasonal_naive', timedelta(minutes=5), fallback=True).fit(y).predict(3);"
        "print(sorted(m for m in ('statsmodels', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _FailsOnSecondUpdate(NaiveForecaster):
    """Naive, except that its second update fails inside the model (a fake for the test)."""

    name = "flaky"

    def _update(self, new):
        self.updates = getattr(self, "updates", 0) + 1
        if self.updates == 2:
            raise ValueError("numerical trouble")


def test_failed_update_leaves_the_model_as_it_was(nab_cpu):
    model = _FailsOnSecondUpdate(STEP).fit(nab_cpu.iloc[:100])
    model.update(nab_cpu.iloc[100:101])
    before = model.predict(3, (0.1, 0.9))
    with pytest.raises(ForecastError, match="flaky failed to update: numerical trouble"):
        model.update(nab_cpu.iloc[101:105])
    after = model.predict(3, (0.1, 0.9))
    assert after.index[0] == before.index[0]
    np.testing.assert_array_equal(after.mean, before.mean)
    np.testing.assert_array_equal(after.quantiles[0.9], before.quantiles[0.9])


def test_gaps_in_updates_are_filled_and_reported(nab_cpu):
    y = nab_cpu.copy()
    y.iloc[101:103] = np.nan
    model = NaiveForecaster(STEP).fit(y.iloc[:100])
    model.update(y.iloc[100:104])
    fc = model.predict(2)
    assert fc.mean[0] == y.iloc[103]
    assert "filled 2 missing point(s) on update" in fc.note


class _PredictBreaks(NaiveForecaster):
    """Fits fine, then cannot predict (a fake standing in for a numerical failure)."""

    name = "fragile"

    def _predict(self, horizon, quantiles):
        raise ForecastError("fragile produced an invalid forecast")


def test_predict_failure_falls_back_on_the_series_seen_so_far(nasa_5m):
    model = FallbackForecaster(_PredictBreaks(STEP), STEP).fit(nasa_5m.iloc[:-10])
    model.update(nasa_5m.iloc[-10:])
    fc = model.predict(3)
    assert fc.model == "seasonal_naive"
    assert "fragile failed to predict" in fc.note
    assert fc.index[0] == nasa_5m.index[-1] + STEP
    np.testing.assert_array_equal(fc.mean, nasa_5m.to_numpy()[-288:-285])


def test_unstable_arima_estimates_are_rejected():
    from autoscaler.forecasters.arima import stable

    assert stable(np.array([0.5, 0.2]))
    assert stable(np.array([]))
    assert not stable(np.array([1.02]))  # explosive
    assert not stable(np.array([0.3, 0.75]))  # explosive through the second lag


class _Explodes(NaiveForecaster):
    """Returns astronomically large numbers, as an unstable model would (a fake)."""

    name = "explodes"

    def _predict(self, horizon, quantiles):
        mean = np.full(horizon, 1e135)
        return mean, {q: mean for q in quantiles}


def test_implausible_forecasts_are_refused_and_fall_back(nab_cpu):
    with pytest.raises(ForecastError, match="implausible"):
        _Explodes(STEP).fit(nab_cpu).predict(3)
    fc = FallbackForecaster(_Explodes(STEP), STEP).fit(nab_cpu).predict(3)
    assert fc.model == "seasonal_naive" and "explodes failed to predict" in fc.note


def test_a_hole_in_an_update_is_an_error_that_changes_nothing(nab_cpu):
    model = build_forecaster("linear", STEP, fallback=True).fit(nab_cpu.iloc[:100])
    with pytest.raises(ForecastError, match="expected the next point"):
        model.update(nab_cpu.iloc[105:110])
    fc = model.predict(2)
    assert fc.model == "linear" and fc.index[0] == nab_cpu.index[100]


def _one_at_a_time(model, y: pd.Series, start: int, stop: int, *, overlap: int = 0) -> None:
    for i in range(start, stop):
        model.update(y.iloc[i - overlap : i + 1])


@pytest.mark.parametrize("kind", ["level", "naive", "arima"])
def test_one_point_updates_match_the_general_path_gaps_and_repeats_included(kind, nab_cpu):
    # the general path, one new point at a time: each update repeats the point before
    y = nab_cpu.copy()
    y.iloc[[205, 230, 231]] = np.nan
    general = build_forecaster(kind, STEP).fit(y.iloc[:200])
    single = build_forecaster(kind, STEP).fit(y.iloc[:200])
    _one_at_a_time(general, y, 200, 260, overlap=1)
    _one_at_a_time(single, y, 200, 230)
    single.update(y.iloc[220:221])  # already seen: ignored
    berlin = y.iloc[230:260].tz_convert("Europe/Berlin")  # the same instants, another zone
    _one_at_a_time(single, berlin, 0, len(berlin))
    a, b = general.predict(6, (0.05, 0.95)), single.predict(6, (0.05, 0.95))
    assert a.index.equals(b.index)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.quantiles[0.95], b.quantiles[0.95])
    assert a.note == b.note and "filled 3 missing point(s) on update" in b.note


def test_a_one_point_update_off_the_grid_is_an_error_that_changes_nothing(nab_cpu):
    model = NaiveForecaster(STEP).fit(nab_cpu.iloc[:100])
    with pytest.raises(ForecastError, match="expected the next point"):
        model.update(nab_cpu.iloc[101:102])
    with pytest.raises(ForecastError, match="infinite"):
        model.update(pd.Series([np.inf], index=nab_cpu.index[100:101]))
    assert model.predict(1).index[0] == nab_cpu.index[100]
    assert model.predict(1).mean[0] == nab_cpu.iloc[99]


def test_arimas_finite_check_reads_the_next_forecast_from_the_filter(nab_cpu):
    import warnings
    from types import SimpleNamespace

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    from autoscaler.forecasters.arima import next_finite

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(nab_cpu.to_numpy(), order=(2, 0, 1), trend="c").fit(disp=False)
    f = res.filter_results
    state = res.predicted_state[:, -1]
    # the number it checks is the one-step forecast statsmodels gives
    assert f.design[0, :, -1] @ state + f.obs_intercept[0, -1] == pytest.approx(
        float(res.forecast(1)[0]), rel=1e-12
    )
    assert next_finite(res)
    for bad in (np.inf, np.nan):
        broken = SimpleNamespace(filter_results=f, predicted_state=res.predicted_state.copy())
        broken.predicted_state[0, -1] = bad
        assert not next_finite(broken)
