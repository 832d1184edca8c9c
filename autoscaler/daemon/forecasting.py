"""Forecasts for the daemon: a fitted forecaster behind the engine's ``ForecastProvider``,
refitted by the retraining job, with a fallback when the model fails.

``Retrainer`` is the hook the retraining job calls for every group; ``NoRetrain`` is
used for groups without a forecaster. ``FittedForecast`` is both: the evaluation job
calls ``forecast`` (cheap: ``update`` with the new samples, then ``predict``) and the
retraining job calls ``retrain`` (a full ``fit`` on the last window seen).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from autoscaler.interfaces import Forecaster
from autoscaler.model import Forecast, ForecastError, GroupSpec, MetricWindow


class Retrainer(Protocol):
    def adopt(self, model: Forecaster, seen_end: datetime, fitted_at: datetime) -> None:
        """Use an already fitted ``model`` whose data ends at ``seen_end`` (e.g. one
        loaded from a model store) instead of fitting on the first window."""
        with self._lock:
            self.model, self._seen_end, self.fitted_at = model, seen_end, fitted_at

    def retrain(self, group: str, now: datetime) -> None:
        """Refit the group's model on recent data. May be slow; runs in its own job."""

    def model_age(self, now: datetime) -> timedelta | None:
        """Time since the model was last fitted; None when there is no model."""


class NoRetrain:
    """The retraining hook of a group that has no forecaster: does nothing."""

    def adopt(self, model: Forecaster, seen_end: datetime, fitted_at: datetime) -> None:
        """Use an already fitted ``model`` whose data ends at ``seen_end`` (e.g. one
        loaded from a model store) instead of fitting on the first window."""
        with self._lock:
            self.model, self._seen_end, self.fitted_at = model, seen_end, fitted_at

    def retrain(self, group: str, now: datetime) -> None:
        return None

    def model_age(self, now: datetime) -> timedelta | None:
        return None


def window_series(w: MetricWindow) -> pd.Series:
    """The window as a series on a UTC index (``values[-1]`` at ``w.end``)."""
    idx = pd.date_range(end=w.end, periods=len(w), freq=w.step)
    return pd.Series(w.values, index=idx, dtype=float)


class LastValue:
    """The fallback forecast: the newest finite observation, flat, with no spread."""

    name = "last_value"

    def predict_from(self, w: MetricWindow, horizon: int, quantiles: Sequence[float]) -> Forecast:
        finite = w.values[np.isfinite(w.values)]
        if finite.size == 0:
            raise ForecastError("no finite observation to fall back on")
        flat = np.full(horizon, float(finite[-1]))
        idx = pd.date_range(w.end + w.step, periods=horizon, freq=w.step)
        return Forecast(idx, flat, {q: flat for q in quantiles}, model=self.name)


class FittedForecast:
    """A ``ForecastProvider`` and ``Retrainer`` around one group's ``Forecaster``.

    The model is fitted on the first window it sees (if long enough) and whenever
    ``retrain`` runs; in between, each tick only appends the samples after the last
    one the model has. Any exception from the model falls back to ``LastValue`` and
    the reason goes in ``Forecast.note`` (and so in the audit log).
    """

    def __init__(
        self,
        build: Callable[[], Forecaster],
        *,
        horizon: int,
        quantiles: Sequence[float] = (0.5, 0.9),
        fallback: LastValue | None = None,
    ) -> None:
        self.build = build
        self.horizon = horizon
        self.quantiles = tuple(quantiles)
        self.fallback = fallback or LastValue()
        self.model: Forecaster | None = None
        self.fitted_at: datetime | None = None
        self._seen_end: datetime | None = None
        self._last_window: MetricWindow | None = None
        self._lock = threading.Lock()

    def forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast | None:
        with self._lock:
            self._last_window = window
            try:
                if self.model is None:
                    self._fit(window, now)
                else:
                    self._update(window)
                assert self.model is not None
                return self.model.predict(self.horizon, self.quantiles)
            except Exception as exc:  # any model failure degrades to the fallback, with why
                reason = f"{type(exc).__name__}: {exc}"
                fc = self.fallback.predict_from(window, self.horizon, self.quantiles)
                return Forecast(fc.index, fc.mean, fc.quantiles, fc.model, f"fallback: {reason}")

    def adopt(self, model: Forecaster, seen_end: datetime, fitted_at: datetime) -> None:
        """Use an already fitted ``model`` whose data ends at ``seen_end`` (e.g. one
        loaded from a model store) instead of fitting on the first window."""
        with self._lock:
            self.model, self._seen_end, self.fitted_at = model, seen_end, fitted_at

    def retrain(self, group: str, now: datetime) -> None:
        """Fit a fresh model on the last window seen, then swap it in. The fit runs
        outside the lock so that evaluation ticks go on with the old model meanwhile."""
        with self._lock:
            window = self._last_window
        if window is None:
            return
        model = self._fitted_on(window)
        with self._lock:
            # Samples after ``window.end`` reach the new model at the next tick's update.
            self.model, self.fitted_at, self._seen_end = model, now, window.end

    def model_age(self, now: datetime) -> timedelta | None:
        return None if self.fitted_at is None else now - self.fitted_at

    def _fitted_on(self, window: MetricWindow) -> Forecaster:
        model = self.build()
        y = window_series(window)
        if len(y) < max(1, getattr(model, "min_history", 1)):
            raise ForecastError(f"{len(y)} samples, the model needs {model.min_history}")
        model.fit(y)
        return model

    def _fit(self, window: MetricWindow, now: datetime) -> None:
        self.model = self._fitted_on(window)
        self.fitted_at = now
        self._seen_end = window.end

    def _update(self, window: MetricWindow) -> None:
        assert self.model is not None and self._seen_end is not None
        new = math.floor((window.end - self._seen_end) / window.step)
        if new <= 0:
            return
        if new >= len(window):
            # A gap longer than the window: the model's state is too old; refit.
            self._fit(window, window.end)
            return
        tail = MetricWindow(window.end, window.step, window.values[-new:])
        self.model.update(window_series(tail))
        self._seen_end = window.end
