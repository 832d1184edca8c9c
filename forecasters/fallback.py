"""A forecaster that falls back to seasonal persistence, then persistence, when its model fails.

The engine wraps every configured model in this: a fit failure (numerical trouble,
too little history for the model) must not leave a group without a forecast. A
failure to update or predict later falls back the same way, refitting the fallback
on the series seen so far (kept here, at most ``HISTORY_CAP`` points). Only when even
persistence cannot fit (fewer than two points, no finite value) is ``ForecastError``
raised. ``StandIn`` is the same chain with no model in front, for the time a group's
model cannot serve at all (not built, its first fit still running, too little history).
This is the only fallback: the forecast provider uses these two, nothing of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pandas as pd

from autoscaler.forecasters.base import HISTORY_CAP
from autoscaler.forecasters.baselines import NaiveForecaster, SeasonalNaiveForecaster
from autoscaler.forecasters.intervals import check_quantiles
from autoscaler.model import Forecast, ForecastError


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _continues(y: pd.Series, new: pd.Series, step: timedelta) -> bool:
    """Whether ``new`` starts right after ``y`` (a hole is the caller's error, not the model's)."""
    return len(new) == 0 or new.index[0] == y.index[-1] + pd.Timedelta(step)


class FallbackForecaster:
    """Wraps ``primary``; ``name`` is the primary's, ``model`` in a forecast is who made it."""

    def __init__(self, primary: Any, step: timedelta) -> None:
        self.primary = primary
        self.step = step
        self.name: str = primary.name
        self.min_history = NaiveForecaster.min_history
        self.active: Any = None
        self.reason = ""

    @property
    def fell_back(self) -> bool:
        return self.active is not None and self.active is not self.primary

    @property
    def validation_forecasts(self) -> list | None:
        """The primary's held-out forecasts (see ``ensemble``), unless it fell back."""
        if self.active is not None and self.active is not self.primary:
            return None
        return getattr(self.primary, "validation_forecasts", None)

    def fit(self, y: pd.Series) -> FallbackForecaster:
        """Fit the primary, else seasonal naive, else naive. Raises ``ForecastError`` if none fits."""
        self._y = y.iloc[-HISTORY_CAP:]
        return self._fit_chain(y, [self.primary, *self._fallbacks(self.primary.name)])

    def _fallbacks(self, failed: str) -> list[Any]:
        chain: list[Any] = []
        if failed not in ("seasonal_naive", "naive"):
            chain.append(SeasonalNaiveForecaster(self.step))
        if failed != "naive":
            chain.append(NaiveForecaster(self.step))
        return chain

    def _fit_chain(self, y: pd.Series, candidates: list[Any]) -> FallbackForecaster:
        self.active, self.reason = None, ""
        failures: list[str] = []
        for model in candidates:
            try:
                model.fit(y)
            except Exception as exc:  # any failure of a model means: try the next one
                failures.append(f"{model.name}: {_one_line(exc)}")
                continue
            self.active = model
            self.reason = failures[0] if failures else ""
            return self
        raise ForecastError("; ".join(failures))

    def update(self, y: pd.Series) -> FallbackForecaster:
        if self.active is None:
            raise ForecastError(f"{self.name}: update called before fit")
        new = y[y.index > self._y.index[-1]] if len(y) else y
        try:
            self.active.update(y)
        except ForecastError as exc:
            if self.active.name != "naive" and _continues(self._y, new, self.step):
                self._y = pd.concat([self._y, new]).iloc[-HISTORY_CAP:]
                return self._refit_fallback(
                    f"{self.active.name} failed to update: {_one_line(exc)}"
                )
            raise
        if len(new):
            self._y = pd.concat([self._y, new]).iloc[-HISTORY_CAP:]
        return self

    def _refit_fallback(self, reason: str) -> FallbackForecaster:
        failed, old_reason = self.active, self.reason
        try:
            self._fit_chain(self._y, self._fallbacks(failed.name))
        except ForecastError:
            self.active, self.reason = failed, old_reason
            raise
        self.reason = reason
        return self

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        if self.active is None:
            raise ForecastError(f"{self.name}: predict called before fit")
        # Bad arguments are the caller's error, not a reason to fall back.
        check_quantiles(quantiles)
        if int(horizon) != horizon or horizon < 1:
            raise ForecastError(f"horizon must be a positive number of steps, not {horizon!r}")
        try:
            fc = self.active.predict(horizon, quantiles)
        except ForecastError as exc:
            if self.active.name == "naive":
                raise
            self._refit_fallback(f"{self.active.name} failed to predict: {_one_line(exc)}")
            fc = self.active.predict(horizon, quantiles)
        if not self.fell_back:
            return fc
        note = f"fell back to {self.active.name} because {self.reason}"
        return dataclasses.replace(fc, note="; ".join(n for n in (note, fc.note) if n))


class _Missing:
    """A model that is not there: its fit fails, so the chain behind it serves."""

    name = "model"
    min_history = 0

    def fit(self, y: pd.Series) -> _Missing:
        raise ForecastError("not available")


class StandIn(FallbackForecaster):
    """The fallback chain alone (seasonal naive, else naive); its forecasts' note says
    ``why`` the group's own model is not serving."""

    def __init__(self, step: timedelta, why: str) -> None:
        super().__init__(_Missing(), step)
        self.why = why

    def fit(self, y: pd.Series) -> StandIn:
        super().fit(y)
        self.reason = self.why
        return self
