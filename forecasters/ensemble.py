"""Combining models by how well they did on the series itself.

At fit time the last ``eval_span`` of the series is held out: every member is fitted
once on the data before it, then rolled forward through ``eval_origins`` origins with
``update`` (no refit), forecasting ``eval_horizon`` steps at each; its score is the
mean absolute error over those forecasts. Members are then brought up to the end of
the series with ``update`` as well, so the whole costs about one fit per member.

* ``ensemble``: the ``top`` best members, weighted by inverse score; means and
  quantiles are averaged with those weights (averaging quantiles keeps them monotone).
* ``auto``: whichever did best in the evaluation, the combination or a single member.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.base import BaseForecaster
from autoscaler.forecasters.series_input import to_steps
from autoscaler.model import ForecastError

# linear is left out by default: on the NAB and NASA series it never ranked in the top three.
# mlp needs the optional torch extra; without it, it is left out (and the note says so).
# level (cheap) is in: the daemon's default should be one of auto's choices.
DEFAULT_MEMBERS = ("naive", "seasonal_naive", "level", "ets", "arima", "mlp")


class EnsembleForecaster(BaseForecaster):
    """Weighted combination of the best members; see the module docstring."""

    name = "ensemble"
    min_history = 2
    select_best = False

    def __init__(
        self,
        step: timedelta,
        members: Sequence[str] = DEFAULT_MEMBERS,
        top: int = 3,
        eval_horizon: int | str = 12,
        eval_origins: int = 24,
        eval_span: int | str = "2d",
        build: Callable[..., Any] | None = None,
        **params: Any,
    ) -> None:
        members = tuple(members)
        super().__init__(
            step,
            members=members,
            top=top,
            eval_horizon=eval_horizon,
            eval_origins=eval_origins,
            eval_span=eval_span,
            **params,
        )
        if not members or any(m in ("ensemble", "auto") for m in members):
            raise ForecastError(
                f"{self.name}: members must be non-empty single models, not {members}"
            )
        if build is None:
            raise ForecastError(f"{self.name}: build it with registry.build_forecaster")
        self.members = members
        self.top = max(1, int(top))
        self.eval_horizon = to_steps(eval_horizon, step, name="eval_horizon")
        self.eval_origins = max(1, int(eval_origins))
        self.eval_span = to_steps(eval_span, step, name="eval_span")
        self._build = build
        self.models: dict[str, Any] = {}
        self.scores: dict[str, float] = {}
        self.weights: dict[str, float] = {}
        self.choice = ""

    def _series(self, values: np.ndarray, start: pd.Timestamp) -> pd.Series:
        return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=self.step))

    def _fit(self, values: np.ndarray) -> None:
        n, h = len(values), self.eval_horizon
        assert self._first is not None
        y = self._series(values, self._first)
        span = min(self.eval_span, n // 3)
        origins = (
            np.unique(np.linspace(n - span - 1, n - h - 1, self.eval_origins).round().astype(int))
            if span > h
            else np.empty(0, dtype=int)
        )
        cut = int(origins[0]) + 1 if origins.size else n
        self.models, errors, preds = {}, {}, {}
        failures = []
        for kind in self.members:
            try:
                model = self._build(kind, self.step, seed=self.seed)
                model.fit(y.iloc[:cut])
                errs, fcs = [], []
                for o in origins:
                    model.update(y.iloc[: o + 1])
                    fc = model.predict(h, (0.05, 0.5, 0.95))
                    errs.append(np.abs(fc.mean - values[o + 1 : o + 1 + h]).mean())
                    fcs.append(fc)
                model.update(y)
            except Exception as exc:  # a member that fails is left out, not fatal
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                failures.append(f"{kind}: {first_line}")
                continue
            self.models[kind] = model
            errors[kind] = float(np.mean(errs)) if errs else 1.0
            preds[kind] = fcs
        if not self.models:
            raise ForecastError(f"{self.name}: no member could be fitted ({'; '.join(failures)})")
        self.scores = errors
        ranked = sorted(self.models, key=lambda k: errors[k])[: self.top]
        inv = np.array([1.0 / max(errors[k], 1e-12) for k in ranked])
        combo = dict(zip(ranked, inv / inv.sum(), strict=True))
        chosen = combo
        if self.select_best and origins.size:
            combo_err = np.mean(
                [
                    np.abs(
                        sum(w * preds[k][i].mean for k, w in combo.items())
                        - values[o + 1 : o + 1 + h]
                    ).mean()
                    for i, o in enumerate(origins)
                ]
            )
            best = ranked[0]
            if errors[best] < combo_err:
                chosen = {best: 1.0}
        self.weights = chosen
        self.choice = ", ".join(f"{k} {w:.2f}" for k, w in chosen.items())
        if failures:
            self._notes.append(f"left out {'; '.join(failures)}")

    def _update(self, new: np.ndarray) -> None:
        assert self._last is not None
        start = self._last - (len(new) - 1) * self.step
        y = self._series(new, start)
        for kind in self.weights:
            self.models[kind].update(y)

    def _predict(self, horizon: int, quantiles: tuple[float, ...]):
        fcs, failed = {}, []
        for k in self.weights:
            try:
                fcs[k] = self.models[k].predict(horizon, quantiles)
            except ForecastError as exc:  # the others still make a forecast
                failed.append(f"{k}: {exc}")
        if not fcs:
            raise ForecastError(
                f"{self.name}: every member failed to predict ({'; '.join(failed)})"
            )
        total = sum(self.weights[k] for k in fcs)
        weights = {k: self.weights[k] / total for k in fcs}
        mean = sum(w * fcs[k].mean for k, w in weights.items())
        bands = {q: sum(w * fcs[k].quantiles[q] for k, w in weights.items()) for q in quantiles}
        return mean, bands

    def predict(self, horizon: int, quantiles: Sequence[float] = ()):
        import dataclasses

        fc = super().predict(horizon, quantiles)
        note = f"weights: {self.choice}"
        return dataclasses.replace(fc, note="; ".join(n for n in (note, fc.note) if n))


class AutoForecaster(EnsembleForecaster):
    """The best of the members and their combination, by the same evaluation."""

    name = "auto"
    select_best = True
