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
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.base import HISTORY_CAP, checked_quantiles
from autoscaler.forecasters.baselines import NaiveForecaster, SeasonalNaiveForecaster
from autoscaler.model import Forecast, ForecastError, all_finite


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
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._last_seen: datetime | None = None
        return self._fit_chain(y, [self.primary, *self._fallbacks(self.primary.name)])

    # The array path (``update_values``) appends to ``_pending``; ``_seen`` joins it onto
    # ``_y`` when the series is read, so that a decision builds no pandas object.

    def _seen(self) -> pd.Series:
        """The series seen so far (its last ``HISTORY_CAP`` points)."""
        pending = getattr(self, "_pending", None)
        if pending:
            values = np.concatenate(pending)
            start = self._y.index[-1] + pd.Timedelta(self.step)
            index = pd.date_range(start, periods=len(values), freq=pd.Timedelta(self.step))
            self._y = pd.concat([self._y, pd.Series(values, index=index)]).iloc[-HISTORY_CAP:]
            pending.clear()
            self._pending_n = 0
        return self._y

    def _append(self, values: np.ndarray, end: datetime) -> None:
        self._pending.append(np.array(values, dtype=float))
        self._pending_n += len(values)
        self._last_seen = end
        if self._pending_n >= HISTORY_CAP // 8:  # keep the list short
            self._seen()

    def __getstate__(self) -> dict[str, Any]:
        if getattr(self, "_pending", None):
            self._seen()  # a stored model keeps the plain series, as before the array path
        state = self.__dict__.copy()
        for name in ("_pending", "_pending_n", "_last_seen"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pending, self._pending_n, self._last_seen = [], 0, None

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
        self._seen()
        self._last_seen = None
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

    def update_values(self, new: np.ndarray, end: datetime) -> FallbackForecaster:
        """``update`` with the values of the ``len(new)`` steps ending at ``end``, without
        pandas when they are finite, continue the grid right after the last point seen
        and the active model has ``update_values``; any other input takes ``update``'s
        path, with its checks, errors and fallback. Same model state either way."""
        if self.active is None:
            raise ForecastError(f"{self.name}: update called before fit")
        fast = getattr(self.active, "update_values", None)
        n = len(new)
        last = self._last_seen
        if last is None and fast is not None:
            last = self._y.index[-1].to_pydatetime()
        if fast is None or n == 0 or end != last + n * self.step or not all_finite(new):
            index = pd.date_range(end=end, periods=n, freq=pd.Timedelta(self.step))
            return self.update(pd.Series(new, index=index, dtype=float))
        try:
            fast(new)
        except ForecastError as exc:
            if self.active.name != "naive":
                self._append(new, end)
                return self._refit_fallback(
                    f"{self.active.name} failed to update: {_one_line(exc)}"
                )
            raise
        self._append(new, end)
        return self

    def _refit_fallback(self, reason: str) -> FallbackForecaster:
        failed, old_reason = self.active, self.reason
        try:
            self._fit_chain(self._seen(), self._fallbacks(failed.name))
        except ForecastError:
            self.active, self.reason = failed, old_reason
            raise
        self.reason = reason
        return self

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        if self.active is None:
            raise ForecastError(f"{self.name}: predict called before fit")
        # Bad arguments are the caller's error, not a reason to fall back.
        checked_quantiles(quantiles)
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
