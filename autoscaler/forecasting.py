"""Forecasting inside the engine: one retraining forecaster per group, the same in the
daemon and in the simulator.

``RetrainingForecastProvider`` implements the engine's ``ForecastProvider``. It keeps
each group's recent history (the engine only hands it the lookback window), refits the
group's model every ``retrain`` on the trailing ``train_window``, calls the cheap
``update()`` in between, and falls back to the naive model of ``forecasters.baselines``
when the model is missing, has too little history, or fails; the reason is in
``Forecast.note``.

Who refits: in the simulator the provider refits inside ``forecast`` when a refit is due
(``inline``); the daemon turns that off and its per-group retraining job calls
``refit`` on the same schedule, so a slow fit never delays an evaluation. Both use the
same code path (``_fit``), the same trailing window and the same fallback.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from autoscaler.forecasters.baselines import NaiveForecaster
from autoscaler.forecasters.intervals import check_quantiles
from autoscaler.interfaces import Forecaster
from autoscaler.model import Forecast, ForecastError, GroupSpec, MetricWindow

ForecasterFactory = Callable[[timedelta], Forecaster]


def _series(values: np.ndarray, end: datetime, step: timedelta) -> pd.Series:
    index = pd.date_range(end=end, periods=len(values), freq=step)
    return pd.Series(values, index=index, dtype=float)


@dataclass
class _GroupState:
    step: timedelta
    history: np.ndarray
    end: datetime
    model: Forecaster | None = None
    fallback: Forecaster | None = None
    fitted_at: datetime | None = None
    problem: str = ""  # why the model is not in use, if it is not
    # While the model serves, the fallback is not kept up to date (an update per
    # decision would double the cost); it is refitted on the history when needed.
    fallback_end: datetime | None = None
    # Timestamps for forecasts on the array path: one long range, sliced per forecast.
    times: pd.DatetimeIndex | None = None
    times_start: datetime | None = None


@dataclass
class RetrainingForecastProvider:
    """Forecasts each group's load with a model refitted every ``retrain``.

    ``make(step)`` builds a fresh model (raises to say it is unavailable); the fallback
    is the naive model. The horizon is at least boot delay + two intervals,
    so a policy always sees the window a new instance would serve. Never raises for a
    model's failure: the fallback forecast says why in its ``note``; returns None only
    when even the fallback has too little history.
    """

    make: ForecasterFactory
    retrain: timedelta = timedelta(hours=1)
    train_window: timedelta = timedelta(days=1)
    horizon: timedelta = timedelta(minutes=30)
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.95)
    inline: bool = True  # refit inside forecast() when due; False: only refit() refits
    groups: dict[str, _GroupState] = field(default_factory=dict)
    fits: int = 0  # counters, for reports and tests
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        # sorted and checked once, for the models' array path
        self._quantiles = check_quantiles(self.quantiles)

    def forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast | None:
        if len(window) == 0:
            return None
        with self._lock:
            return self._forecast(spec, window, now)

    def refit(self, group: str, now: datetime) -> None:
        """Refit ``group``'s model on its trailing history (the daemon's retraining job).

        Holds the lock for the whole fit: a concurrent ``forecast`` waits rather than
        predicting from a half-replaced model. No-op for a group not seen yet.
        """
        with self._lock:
            st = self.groups.get(group)
            if st is not None:
                self._fit(st, now)

    def model_age(self, group: str, now: datetime) -> timedelta | None:
        """Time since ``group``'s model was fitted; None while it has no model."""
        st = self.groups.get(group)
        if st is None or st.model is None or st.fitted_at is None:
            return None
        return now - st.fitted_at

    def _forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast | None:
        st, new = self._absorb(spec.name, window)
        due = st.fitted_at is None or (self.inline and now - st.fitted_at >= self.retrain)
        if due:
            self._fit(st, now)
        elif len(new):
            self._update(st, new)
        lead = spec.boot_delay + 2 * spec.interval
        steps = max(1, math.ceil(max(self.horizon, lead) / st.step))
        if st.model is not None:
            try:
                return self._predict(st, steps)
            except Exception as exc:
                self.failures += 1
                st.problem = f"predict failed: {type(exc).__name__}: {exc}"
                st.model = None
        fallback = self._fallback(st)
        if fallback is None:
            return None
        fc = fallback.predict(steps, self.quantiles)
        return replace(fc, note=f"fallback to naive: {st.problem}")

    def _predict(self, st: _GroupState, steps: int) -> Forecast:
        """The model's forecast; on its array path (no pandas) when it has one."""
        model = st.model
        arrays = getattr(model, "predict_arrays", None)
        if arrays is None:
            return model.predict(steps, self.quantiles)
        mean, bands = arrays(steps, self._quantiles)
        note = getattr(model, "note", "")
        return Forecast(self._times(st, steps), mean, bands, model=model.name, note=note)

    def _times(self, st: _GroupState, steps: int) -> pd.DatetimeIndex:
        """The ``steps`` timestamps after the history's end, sliced from a cached range."""
        first = st.end + st.step
        times = st.times
        if times is not None and st.times_start is not None:
            i = round((first - st.times_start) / st.step)
            if i >= 0 and i + steps <= len(times):
                return times[i : i + steps]
        st.times = pd.date_range(first, periods=max(4096, 4 * steps), freq=st.step)
        st.times_start = first
        return st.times[:steps]

    def _fallback(self, st: _GroupState) -> Forecaster | None:
        """The naive fallback, refitted on the history when updates have passed it by."""
        if st.fallback is not None and st.fallback_end != st.end:
            try:
                st.fallback = NaiveForecaster(st.step).fit(_series(st.history, st.end, st.step))
                st.fallback_end = st.end
            except ForecastError:
                st.fallback = None
        return st.fallback

    def _absorb(self, name: str, window: MetricWindow) -> tuple[_GroupState, np.ndarray]:
        """Merge the window into the group's history; return the state and the new values."""
        keep = max(2, int(self.train_window / window.step))
        st = self.groups.get(name)
        if st is None or st.step != window.step:
            st = _GroupState(window.step, window.values[-keep:].copy(), window.end)
            self.groups[name] = st
            return st, window.values[:0]
        n_new = round((window.end - st.end) / st.step)
        if n_new <= 0:
            return st, window.values[:0]
        if n_new > len(window):
            # a hole longer than the window: the old history no longer joins up
            st.history, st.end, st.fitted_at = window.values[-keep:].copy(), window.end, None
            return st, window.values[:0]
        new = window.values[-n_new:]
        st.history = np.concatenate([st.history, new])[-keep:]
        st.end = window.end
        return st, new

    def _fit(self, st: _GroupState, now: datetime) -> None:
        y = _series(st.history, st.end, st.step)
        st.fitted_at = now
        st.fallback = None
        try:
            st.fallback = NaiveForecaster(st.step).fit(y)
            st.fallback_end = st.end
        except ForecastError as exc:
            # too little history: try again next call rather than after a whole retrain
            st.model, st.problem, st.fitted_at = None, f"history too short: {exc}", None
            return
        try:
            model = self.make(st.step)
        except Exception as exc:
            st.model, st.problem = None, f"model unavailable: {exc}"
            return
        need = int(getattr(model, "min_history", 2))
        n = int(np.isfinite(st.history).sum())
        if n < need:
            st.model, st.problem = None, f"{model.name} needs {need} samples, has {n}"
            st.fitted_at = None  # the fallback serves until there is enough
            return
        try:
            st.model = model.fit(y.ffill().bfill())
            st.problem = ""
            self.fits += 1
        except Exception as exc:
            self.failures += 1
            st.model, st.problem = None, f"{model.name} fit failed: {type(exc).__name__}: {exc}"

    def _update(self, st: _GroupState, new: np.ndarray) -> None:
        if st.model is None:
            if st.fallback is not None and st.fallback_end is not None:
                st.fallback.update(_series(new, st.end, st.step))
                st.fallback_end = st.end
            return
        values = new
        if not np.isfinite(new).all():
            before = st.history[: len(st.history) - len(new)]
            known = before[np.isfinite(before)]
            values = _held(new, float(known[-1]) if len(known) else 0.0)
        fast = getattr(st.model, "update_values", None)
        try:
            if fast is not None:
                fast(values)
            else:
                st.model.update(_series(values, st.end, st.step))
        except Exception as exc:
            self.failures += 1
            st.model, st.problem = (
                None,
                f"{st.model.name} update failed: {type(exc).__name__}: {exc}",
            )


def _held(values: np.ndarray, before: float) -> np.ndarray:
    """``values`` with each NaN replaced by the last finite value before it (``before``
    when there is none in ``values``)."""
    out = values.astype(float, copy=True)
    last = before
    for i, v in enumerate(out):
        if math.isfinite(v):
            last = v
        else:
            out[i] = last
    return out
