"""Forecasting inside the engine: one retraining forecaster per group, the same in the
daemon and in the simulator.

``RetrainingForecastProvider`` implements the engine's ``ForecastProvider``. It keeps
each group's recent history (the engine only hands it the lookback window), refits the
group's model every ``retrain`` on the trailing ``train_window``, calls the cheap
``update()`` in between (the training window is read back from the metric source,
``forecast_store``). The model is served as ``forecasters.fallback`` wraps it: a fit,
update or predict failure falls back to seasonal naive, then naive; while the model
cannot serve at all (not built, first fit still running, too little history) the same
chain stands in (``StandIn``). The reason is in ``Forecast.note``. The registry's
models are built as the backtests score them (conformal bands except ``level``'s,
``registry.default_calibration``) and stored as they are.

Who refits: in the simulator the provider refits inside ``forecast`` when a refit is due
(``inline``); the daemon turns that off and its per-group retraining job calls
``refit`` on the same schedule, so a slow fit never delays an evaluation. Both use the
same code path (``_fit``), the same trailing window and the same fallback.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.fit_pool import FIT_SLOTS
from autoscaler.forecast_store import HistoryReader, StoredHistory
from autoscaler.forecasters.fallback import FallbackForecaster, StandIn
from autoscaler.forecasters.intervals import check_quantiles
from autoscaler.forecasters.trailing import Trailing, trailing_for
from autoscaler.interfaces import Forecaster
from autoscaler.model import Forecast, ForecastError, GroupSpec, MetricWindow, all_finite

ForecasterFactory = Callable[[timedelta], Forecaster]


def _series(values: np.ndarray, end: datetime, step: timedelta) -> pd.Series:
    index = pd.date_range(end=end, periods=len(values), freq=step)
    return pd.Series(values, index=index, dtype=float)


@dataclass
class _GroupState:
    step: timedelta
    history: np.ndarray
    end: datetime
    model: Any = None  # the group's own model, as ``ServedModel`` wraps it
    standin: StandIn | None = None  # serves while there is no model
    standin_end: datetime | None = None  # the stand-in is up to date until here
    fitted_at: datetime | None = None
    problem: str = ""  # why the model is not in use, if it is not
    name: str = ""
    restored: bool = False  # the model store was asked for this group's model
    fitting: bool = False  # a refit of this group is running outside the lock
    served: bool = False  # a model of its own has served (fitted here or restored)
    trail: Trailing | None = None  # extends ``history`` without copying it each tick


@dataclass(frozen=True)
class ServedModel:
    """``make``'s model as the provider serves it: in the fallback chain, unless it
    falls back by itself (the registry's models are built with it). Picklable when
    ``make`` is, so that a refit can run in a worker process."""

    make: ForecasterFactory

    def __call__(self, step: timedelta) -> Any:
        model = self.make(step)
        return model if hasattr(model, "fell_back") else FallbackForecaster(model, step)


def own_model(model: Any) -> Any:
    """The model inside the wrappers (conformal, fallback), whose needs count."""
    while True:
        inner = getattr(model, "inner", None) or getattr(model, "primary", None)
        if inner is None:
            return model
        model = inner


@dataclass
class RetrainingForecastProvider(StoredHistory):
    """Forecasts each group's load with a model refitted every ``retrain``.

    ``make(step)`` builds a fresh model (raises to say it is unavailable). The horizon
    is at least boot delay + two intervals, so a policy always sees the window a new
    instance would serve. Never raises for a model's failure: the fallback's forecast
    says why in its ``note``; returns None only when even the fallback has too little
    history.
    """

    make: ForecasterFactory
    retrain: timedelta = timedelta(hours=1)
    train_window: timedelta = timedelta(days=7)
    horizon: timedelta = timedelta(minutes=30)
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.95)
    # True: refit inside forecast() when due (the simulator, on simulated time); False:
    # a due refit runs on a worker thread (or the daemon's job calls ``refit``).
    inline: bool = True
    # Reads the metric's history (start, end, step) -> Series from the metric source: each
    # fit trains on the whole ``train_window`` there, not only on what the process saw.
    history: HistoryReader | None = None
    # Where fitted models are kept (``forecasters.store.ModelStore``); after a restart a
    # stored model younger than ``retrain`` is used at once, without refitting.
    store: Any = None
    # Where off-tick refits run (``fit_pool.FitPool``: worker processes); None: on the
    # refit's own thread, at most one fit per core at a time (``FIT_SLOTS``).
    fit_pool: Any = None
    # Builds the model of a group's first fit, when no model of its own has served yet
    # (a start without a usable stored one): a cheaper one, e.g. calibrated with one
    # fit instead of two; every later refit builds ``make``'s. None: ``make``.
    make_first: ForecasterFactory | None = None
    groups: dict[str, _GroupState] = field(default_factory=dict)
    fits: int = 0  # counters, for reports and tests
    failures: int = 0
    history_failures: int = 0
    restore_failures: int = 0
    save_failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.quantiles = check_quantiles(self.quantiles)  # sorted and checked once
        self._served = ServedModel(self.make)
        self._served_first = ServedModel(self.make_first or self.make)

    def forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast | None:
        if len(window) == 0:
            return None
        with self._lock:
            return self._forecast(spec, window, now)

    def refit(self, group: str, now: datetime) -> None:
        """Refit ``group``'s model on its trailing history (the daemon's retraining job).

        The fit runs outside the lock, on a copy of the history: forecasts go on from
        the old model meanwhile, and the new one is swapped in when done, brought up to
        date with the points that arrived during the fit. No-op for a group not seen yet
        or whose refit is already running.
        """
        self._refit(group, now, claimed=False)

    def _refit(self, group: str, now: datetime, *, claimed: bool) -> None:
        """``refit``; ``claimed``: the caller already marked the group as fitting."""
        with self._lock:
            st = self.groups.get(group)
            if st is None or (st.fitting and not claimed):
                return
            st.fitting = True
            detached = _GroupState(
                st.step, st.history.copy(), st.end, name=st.name, served=st.served
            )
        try:
            self._read_history(detached)  # waiting on the source holds no fit slot
            if self.fit_pool is not None:
                self._fit(detached, now, read=False, pool=self.fit_pool)
            else:
                with FIT_SLOTS:  # at most one fit per core at a time, across all groups
                    self._fit(detached, now, read=False)
        finally:
            with self._lock:
                st.fitting = False
        with self._lock:
            st = self.groups.get(group)
            if st is None or st.step != detached.step or st.end < detached.end:
                return  # the history was reset meanwhile; the next refit starts afresh
            if detached.model is None and detached.standin is None:
                st.problem = detached.problem  # too little history: keep what serves now
                return
            st.model, st.standin = detached.model, detached.standin
            st.standin_end, st.fitted_at = detached.standin_end, detached.fitted_at
            st.problem, st.served = detached.problem, st.served or detached.served
            n_new = round((st.end - detached.end) / st.step)
            newer = st.history[len(st.history) - n_new :] if n_new > 0 else st.history[:0]
            keep = max(2, int(self.train_window / st.step))
            st.history = np.concatenate([detached.history, newer])[-keep:]
            if n_new > 0:
                self._update(st, newer)

    def _refit_in_background(self, name: str, st: _GroupState, now: datetime) -> None:
        """Start a refit on a worker thread (not inline: a tick never waits for a fit).
        Until the first one is done the fallback chain stands in (cheap)."""
        if st.model is None and st.standin is None:
            self._stand_in(st, "first fit of the model still running")
            if st.standin is None:
                return  # too little history even for the stand-in
        if st.fitting:
            return
        st.fitting = True
        threading.Thread(
            target=self._refit, args=(name, now), kwargs={"claimed": True}, daemon=True
        ).start()

    def model_age(self, group: str, now: datetime) -> timedelta | None:
        """Time since ``group``'s model was fitted; None while it has no model."""
        st = self.groups.get(group)
        if st is None or st.model is None or st.fitted_at is None:
            return None
        return now - st.fitted_at

    def _forecast(self, spec: GroupSpec, window: MetricWindow, now: datetime) -> Forecast | None:
        st, new = self._absorb(spec.name, window)
        if self.store is not None and not st.restored:
            self._restore(st, now)
        due = st.fitted_at is None or now - st.fitted_at >= self.retrain
        if due and self.inline:
            self._fit(st, now)
        else:
            if len(new):
                self._update(st, new)
            if due and not self.inline:
                self._refit_in_background(spec.name, st, now)
        lead = spec.boot_delay + 2 * spec.interval
        steps = max(1, math.ceil(max(self.horizon, lead) / st.step))
        if st.model is not None:
            try:
                return st.model.predict(steps, self.quantiles)
            except Exception as exc:  # past what the fallback chain catches: a bug
                self.failures += 1
                st.model = None
                self._stand_in(st, f"predict failed: {type(exc).__name__}: {exc}")
        standin = self._current_standin(st)
        return None if standin is None else standin.predict(steps, self.quantiles)

    def _stand_in(self, st: _GroupState, why: str) -> None:
        """The fallback chain in the model's place, fitted on the history; None when
        even that has too little history."""
        st.model, st.problem = None, why
        try:
            st.standin = StandIn(st.step, why).fit(_series(st.history, st.end, st.step))
            st.standin_end = st.end
        except ForecastError as exc:
            st.standin, st.problem = None, f"{why}; history too short: {exc}"

    def _current_standin(self, st: _GroupState) -> StandIn | None:
        """The stand-in, refitted on the history when updates have passed it by."""
        if st.standin is not None and st.standin_end != st.end:
            self._stand_in(st, st.standin.why)
        return st.standin

    def _absorb(self, name: str, window: MetricWindow) -> tuple[_GroupState, np.ndarray]:
        """Merge the window into the group's history; return the state and the new values."""
        keep = max(2, int(self.train_window / window.step))
        st = self.groups.get(name)
        if st is None or st.step != window.step:
            st = _GroupState(window.step, window.values[-keep:].copy(), window.end, name=name)
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
        st.trail = trailing_for(st.trail, keep)
        st.history = st.trail.extend(st.history, new)
        # Stay on the first window's grid: a live source's window ends at the tick's own
        # time, a little later or earlier each tick, and the models continue a grid.
        st.end = st.end + n_new * st.step
        return st, new

    def _fit(self, st: _GroupState, now: datetime, *, read: bool = True, pool: Any = None) -> None:
        """Fit ``st``'s model on its history (first read from the source, with ``read``;
        in ``pool``'s worker processes, with ``pool``)."""
        if read:
            self._read_history(st)
        st.fitted_at = now
        try:
            served = self._served if st.served else self._served_first
            model = served(st.step)
        except Exception as exc:
            self._stand_in(st, f"model unavailable: {exc}")
            return
        need = int(getattr(own_model(model), "min_history", 2))
        n = int(np.isfinite(st.history).sum())
        if n < need:
            self._stand_in(st, f"{model.name} needs {need} samples, has {n}")
            st.fitted_at = None  # the stand-in serves until there is enough
            return
        y = _series(st.history, st.end, st.step)
        if y.isna().any():  # a week-long ffill and bfill at every refit otherwise
            y = y.ffill().bfill()
        try:
            st.model = model.fit(y) if pool is None else pool.fit(served, st.step, y)
        except Exception as exc:  # even the fallback chain could not fit
            self.failures += 1
            self._stand_in(st, f"{model.name} fit failed: {type(exc).__name__}: {exc}")
            st.fitted_at = None if st.standin is None else now
            return
        st.standin, st.problem, st.served = None, "", True
        if st.model.fell_back:
            self.failures += 1
            st.problem = f"{model.name} fell back"
        self._save(st)
        self.fits += 1  # one writer at a time: the lock, or the group's own refit job

    def _update(self, st: _GroupState, new: np.ndarray) -> None:
        if st.model is None:
            if st.standin is not None and st.standin_end is not None:
                st.standin.update(_series(new, st.end, st.step))
                st.standin_end = st.end
            return
        values = new
        if not all_finite(new):
            before = st.history[: len(st.history) - len(new)]
            known = before[np.isfinite(before)]
            values = _held(new, float(known[-1]) if len(known) else 0.0)
        fast = getattr(st.model, "update_values", None)  # no pandas per decision
        try:
            if fast is not None:
                fast(values, st.end)
            else:
                st.model.update(_series(values, st.end, st.step))
        except Exception as exc:
            self.failures += 1
            self._stand_in(st, f"{st.model.name} update failed: {type(exc).__name__}: {exc}")


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
