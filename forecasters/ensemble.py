"""Combining models by how well they keep doing on the series itself (rolling validation).

Every ``eval_every`` steps (a checkpoint) each member forecasts ``eval_horizon`` steps;
when those steps have been seen, its score for that checkpoint is the mean absolute
error over them. A member's score is the exponentially weighted mean of its checkpoint
scores (half-weight after ``memory`` checkpoints), so a member that breaks down on a
level shift loses the lead within a few checkpoints. Checkpoints fall on fixed
positions of the series, so a daemon updating one point a tick and a backtest updating
a day at a time score the same forecasts.

At fit time the last ``eval_span`` of the series is held out: the members are fitted
once on the data before it and brought through it with ``update``, which scores them at
its checkpoints; online, ``update`` keeps scoring. With ``refit`` (off by default) they
are then fitted again on the whole series, at about twice the cost.

* ``ensemble``: the ``top`` best members, weighted by inverse score; means and
  quantiles are averaged with those weights (averaging quantiles keeps them monotone).
* ``auto``: whichever scores best, the combination (scored as a candidate of its own,
  with the weights it had at each checkpoint) or a single member; re-chosen at every
  scored checkpoint.

``auto``'s per-horizon choice (``split``, steps; 0: off): the member best over an
hour need not be best over the first minutes, so with ``split`` the same checkpoint
forecasts are also scored over their first ``split`` steps, and the first ``split``
leads of a forecast come from the choice by those scores (the rest from the hour's).

``auto``'s break check (``recent``, a ratio; 0: off): rolling validation learns a
level shift only a few hours later, when checkpoints made after it have been scored,
while the models fitted before it (ARIMA about its old mean) are wrong from the first
point. So every ``recent_every`` steps online each member also forecasts that many
steps; their errors, averaged over the last hour (``RECENT_MEMORY``), are the recent
errors. When the chosen candidate's recent error (a combination's: its weighted
members', an upper bound) is over ``recent`` times its own usual error and over
``recent`` times the best member's, the series has left what the choice was fitted
on, and the member that is right now is used instead, until that is no longer so.
``recent_every`` (15 min, the horizon the policies plan for) and the hour's memory are
set by reasoning; the ratio, 3, was chosen on the benchmark (docs/forecast-accuracy.md).

The held-out forecasts of the fit are kept (``validation_forecasts``) so that the
conformal calibration can start from them instead of holding out data again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.arima import NARROW_ORDERS
from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.combine import averaged, blend, describe, settle, weighted
from autoscaler.forecasters.ensemble_members import first_line, fit_members
from autoscaler.forecasters.ensemble_settings import checked_flag, resolved_settings
from autoscaler.forecasters.series_input import to_steps
from autoscaler.model import Forecast, ForecastError

# linear is left out by default: on the NAB and NASA series it never ranked in the top three.
# mlp needs the optional torch extra; without it, it is left out (and the note says so).
# level (cheap) is in: the daemon's default should be one of auto's choices.
DEFAULT_MEMBERS = ("naive", "seasonal_naive", "level", "ets", "arima", "mlp")
COMBO = "combination"
BAND = (0.05, 0.95)
TIE = 0.01  # relative score difference below which the simpler candidate is kept
RECENT_MEMORY = 4  # half-weight of the recent errors, in short checkpoints (an hour of 15 min)


@dataclasses.dataclass
class Checkpoint:
    """A checkpoint's forecasts (per candidate: mean, q05, q95) and the actuals seen since."""

    forecasts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    actuals: list[float]


class EnsembleForecaster(BaseForecaster):
    """Weighted combination of the best members; see the module docstring."""

    name = "ensemble"
    min_history = 2
    select_best = False
    member_params: Mapping[str, Mapping[str, Any]] = MappingProxyType({})  # stored before it
    default_member_params: Mapping[str, Mapping[str, Any]] = MappingProxyType({})
    default_memory = 24
    recent = 0.0  # the break check (auto); a model stored before it has none
    recent_every = 3
    default_recent = 0.0
    split = 0  # the per-horizon choice (auto); a model stored before it has none
    default_split = 0
    margin = 0.0  # how much better than the combination a single member must score
    default_margin = 0.0
    refit = False  # members refitted on the whole window after the validation
    weights_short: Mapping[str, float] = MappingProxyType({})

    def __init__(
        self,
        step: timedelta,
        members: Sequence[str] = DEFAULT_MEMBERS,
        top: int = 3,
        eval_horizon: int | str = 12,
        eval_origins: int = 24,
        eval_span: int | str = "2d",
        memory: int | None = None,
        member_params: Mapping[str, Mapping[str, Any]] | None = None,
        recent: float | None = None,
        recent_every: int | str = 3,
        split: int | str | None = None,
        margin: float | None = None,
        refit: bool = False,
        build: Callable[..., Any] | None = None,
        **params: Any,
    ) -> None:
        members = tuple(members)
        horizon = to_steps(eval_horizon, step, name="eval_horizon")
        memory, recent, split, margin = resolved_settings(
            self, step, horizon, top, eval_origins, memory, recent, split, margin
        )
        if member_params is None:  # the kind's default, for the members it has
            member_params = {k: v for k, v in self.default_member_params.items() if k in members}
        from autoscaler.forecasters.registry import checked_member_params

        member_params = checked_member_params(member_params, members, self.name)
        super().__init__(
            step,
            members=members,
            top=top,
            eval_horizon=eval_horizon,
            eval_origins=eval_origins,
            eval_span=eval_span,
            memory=memory,
            member_params=member_params,
            recent=recent,
            recent_every=recent_every,
            split=split,
            margin=margin,
            refit=refit,
            **params,
        )
        if not members or any(m in ("ensemble", "auto") for m in members):
            raise ForecastError(
                f"{self.name}: members must be non-empty single models, not {members}"
            )
        if build is None:
            raise ForecastError(f"{self.name}: build it with registry.build_forecaster")
        self.members = members
        self.eval_horizon = horizon
        self.top = top
        self.eval_origins = eval_origins
        self.eval_span = to_steps(eval_span, step, name="eval_span")
        self.decay = 0.5 ** (1.0 / memory)
        self.member_params = member_params
        self.recent = recent if self.select_best else 0.0
        self.recent_every = to_steps(recent_every, step, name="recent_every")
        self.split = split
        self.margin = margin
        self.refit = checked_flag(self.name, "refit", refit)
        self._sums_short: dict[str, tuple[float, float]] = {}  # as _sums, the first leads
        self.recent_errors: dict[str, tuple[float, float]] = {}  # member -> (sum, weight)
        self._short: list[Checkpoint] = []  # the break check's short forecasts, unseen
        self._build = build
        self.models: dict[str, Any] = {}
        self.scores: dict[str, float] = {}  # per member; the combination's is combo_score
        self.combo_score = np.inf
        self.weights: dict[str, float] = {}
        self.choice = ""
        self._sums: dict[str, tuple[float, float]] = {}  # candidate -> (weighted sum, weight)
        self._pending: list[Checkpoint] = []
        self._every = 1
        self._pos = 0
        self._recording = False
        self.validation_forecasts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def _series(self, values: np.ndarray, start: pd.Timestamp) -> pd.Series:
        return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=self.step))

    def _fit_members(self, kinds: Any, y: pd.Series) -> tuple[dict[str, Any], list[str]]:
        return fit_members(self._build, kinds, self.step, self.member_params, self.seed, y)

    def _fit(self, values: np.ndarray) -> None:
        n, h = len(values), self.eval_horizon
        assert self._first is not None
        span = min(self.eval_span, n // 3)
        cut = n - span if span > h else n
        self._every = max(1, span // self.eval_origins) if span > h else max(1, h)
        y = self._series(values[:cut], self._first)
        self.models, failures = self._fit_members(self.members, y)
        if not self.models:
            raise ForecastError(f"{self.name}: no member could be fitted ({'; '.join(failures)})")
        self._sums, self._sums_short, self._pending, self.validation_forecasts = {}, {}, [], []
        self.recent_errors, self._short = {}, []
        self._pos = cut
        self._choose()
        self._recording = True
        self._checkpoint()
        self._advance(values[cut:], failures)
        self._recording = False
        if self.refit and cut < n:
            # the validation chose; the members then learn from the days it held out
            self.models.update(self._fit_members(self.models, self._series(values, y.index[0]))[0])
        if failures:
            self._notes.append(f"left out {'; '.join(failures)}")

    # -- rolling validation -------------------------------------------------------------

    def _advance(self, new: np.ndarray, failures: list[str]) -> None:
        """Bring every member through ``new``, scoring and making checkpoint forecasts."""
        i = 0
        short = self.recent > 0 and not self._recording  # the break check runs online
        while i < len(new):
            take = min(len(new) - i, self._every - self._pos % self._every)
            if short:
                take = min(take, self.recent_every - self._pos % self.recent_every)
            chunk = new[i : i + take]
            for kind in list(self.models):
                try:
                    self.models[kind].update_values(chunk)
                except Exception as exc:  # a member that cannot go on is dropped
                    failures.append(f"{kind}: {first_line(exc)}")
                    del self.models[kind]
            if not self.models:
                raise ForecastError(f"{self.name}: every member failed ({'; '.join(failures)})")
            self._pos += take
            i += take
            if short:
                self._collect_short(chunk)
            self._collect(chunk)
            if short and self._pos % self.recent_every == 0:
                self._short_checkpoint()
            if self._pos % self._every == 0:
                self._checkpoint()

    def _short_checkpoint(self) -> None:
        forecasts = {}
        for kind, model in self.models.items():
            try:
                forecasts[kind] = (model.predict_arrays(self.recent_every, ())[0],)
            except ForecastError:
                continue
        self._short.append(Checkpoint(forecasts, []))

    def _collect_short(self, chunk: np.ndarray) -> None:
        decay = 0.5 ** (1.0 / RECENT_MEMORY)
        complete, self._short = settle(self._short, chunk, self.recent_every)
        for p in complete:
            actual = np.asarray(p.actuals)
            for kind, (mean,) in p.forecasts.items():
                s, w = self.recent_errors.get(kind, (0.0, 0.0))
                err = float(np.abs(actual - mean).mean())
                self.recent_errors[kind] = (decay * s + err, decay * w + 1.0)
        if complete:
            self._choose()

    def _checkpoint(self) -> None:
        forecasts = {}
        for kind, model in self.models.items():
            try:
                mean, bands = model.predict_arrays(self.eval_horizon, BAND)
            except ForecastError:
                continue
            forecasts[kind] = (mean, bands[BAND[0]], bands[BAND[1]])
        combo = self._combination(self.scores)
        if combo and all(k in forecasts for k in combo):
            forecasts[COMBO] = weighted(forecasts, combo)
        if self.weights and all(k in forecasts for k in self.weights):
            forecasts["_own"] = weighted(forecasts, self.weights)
        self._pending.append(Checkpoint(forecasts, []))

    def _collect(self, chunk: np.ndarray) -> None:
        complete, self._pending = settle(self._pending, chunk, self.eval_horizon)
        for p in complete:
            actual = np.asarray(p.actuals)
            for kind, (mean, lo, hi) in p.forecasts.items():
                if kind == "_own":
                    if self._recording:
                        self.validation_forecasts.append((actual, mean, lo, hi))
                    continue
                s, w = self._sums.get(kind, (0.0, 0.0))
                err = np.abs(actual - mean)
                self._sums[kind] = (self.decay * s + float(err.mean()), self.decay * w + 1.0)
                if self.split:
                    s, w = self._sums_short.get(kind, (0.0, 0.0))
                    short = float(err[: self.split].mean())
                    self._sums_short[kind] = (self.decay * s + short, self.decay * w + 1.0)
        if complete:
            self._choose()

    def _combination(self, scores: dict[str, float]) -> dict[str, float]:
        ranked = sorted(
            (k for k in self.models), key=lambda k: (scores.get(k, np.inf), self.members.index(k))
        )[: self.top]
        inv = np.array([1.0 / max(scores.get(k, 1.0), 1e-12) for k in ranked])
        return dict(zip(ranked, inv / inv.sum(), strict=True))

    def _choose(self) -> None:
        scores, self.combo_score = averaged(self._sums, COMBO)
        self.scores = scores
        member_scores = {k: v for k, v in scores.items() if k in self.models}
        combo = self._combination(member_scores)
        self.weights = self._pick(combo, scores, self.combo_score)
        self.choice = describe(self.weights)
        if self.split:  # the first leads by their own scores (the same combination)
            short, short_combo = averaged(self._sums_short, COMBO)
            self.weights_short = self._pick(combo, short, short_combo)
            if self.weights_short != self.weights:
                self.choice += f"; leads 1-{self.split}: {describe(self.weights_short)}"

    def _pick(
        self, combo: dict[str, float], scores: dict[str, float], combo_score: float
    ) -> dict[str, float]:
        """``combo`` (ensemble), or auto's pick by ``scores``: the best member or the
        combination (scored ``combo_score``), through the break check."""
        member_scores = {k: v for k, v in scores.items() if k in self.models}
        if not (self.select_best and member_scores):
            return combo
        chosen = combo
        low = min(member_scores.values())
        # Within TIE of the best, the simplest (first listed) member: a random walk is
        # not ARIMA's by a hair of validation error.
        best = next(k for k in self.members if member_scores.get(k, np.inf) <= low * (1 + TIE))
        if member_scores[best] < combo_score * (1 - self.margin):
            chosen = {best: 1.0}
        return self._break_check(chosen, scores, combo_score)

    def _break_check(
        self, chosen: dict[str, float], scores: dict[str, float], combo_score: float
    ) -> dict[str, float]:
        """``chosen``, or the member with the lowest recent error where the chosen one's
        recent error is over ``recent`` times both its usual error and that member's."""
        if self.recent <= 0:
            return chosen
        recent = {
            k: s / w for k, (s, w) in self.recent_errors.items() if w > 0 and k in self.models
        }
        if not recent or any(k not in recent for k in chosen):
            return chosen
        mine = sum(w * recent[k] for k, w in chosen.items())
        usual = scores[next(iter(chosen))] if len(chosen) == 1 else combo_score
        low = min(recent.values())
        if not (mine > self.recent * usual and mine > self.recent * low):
            return chosen
        now = next(k for k in self.members if recent.get(k, np.inf) <= low * (1 + TIE))
        return {now: 1.0}

    # -- the forecaster interface -------------------------------------------------------

    def _update(self, new: np.ndarray) -> None:
        failures: list[str] = []
        self._advance(np.asarray(new, dtype=float), failures)
        if failures:
            self._notes.append(f"left out {'; '.join(failures)}")
            self._choose()

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        short = dict(self.weights_short) if self.split else {}
        fcs, failed = {}, []
        for k in {**self.weights, **short}:
            try:
                fcs[k] = self.models[k].predict_arrays(horizon, quantiles)
            except ForecastError as exc:  # the others still make a forecast
                failed.append(f"{k}: {exc}")
        mean, bands = blend(fcs, self.weights, quantiles)
        if mean is None:
            raise ForecastError(
                f"{self.name}: every member failed to predict ({'; '.join(failed)})"
            )
        if short and short != self.weights:
            first, first_bands = blend(fcs, short, quantiles)
            if first is not None:
                n = min(horizon, self.split)
                mean = np.concatenate([first[:n], mean[n:]])
                bands = {q: np.concatenate([first_bands[q][:n], b[n:]]) for q, b in bands.items()}
        return mean, bands

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        fc = super().predict(horizon, quantiles)
        note = f"weights: {self.choice}"
        return dataclasses.replace(fc, note="; ".join(n for n in (note, fc.note) if n))


class AutoForecaster(EnsembleForecaster):
    """The best of the members and their combination, by the same rolling validation."""

    name = "auto"
    select_best = True
    # Its arima member without the maximum-likelihood polish (about half of auto's fit),
    # on arima's earlier five orders (the wide grid: 1.4x the fit, MASE within 0.2 %), and
    # a memory of 72 checkpoints: chosen leave-one-series-out on the 33-series bench
    # (docs/forecast-accuracy.md)
    default_memory = 72
    default_member_params = MappingProxyType(
        {"arima": MappingProxyType({"polish": 0, "orders": NARROW_ORDERS})}
    )
    # The break check at 3 times the usual error: the in-sample pick among off, 2, 3 and
    # 5 on the 33-series bench; it changes one series there (docs/forecast-accuracy.md)
    default_recent = 3.0
