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
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.baselines import NaiveForecaster
from autoscaler.forecasters.intervals import check_quantiles
from autoscaler.forecasters.series_input import on_grid
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
    name: str = ""
    restored: bool = False  # the model store was asked for this group's model
    fitting: bool = False  # a refit of this group is running outside the lock


# Refits on worker threads share the cores: a start with many groups queues its fits.
FIT_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

HistoryReader = Callable[[datetime, datetime, timedelta], pd.Series]


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
    groups: dict[str, _GroupState] = field(default_factory=dict)
    fits: int = 0  # counters, for reports and tests
    failures: int = 0
    history_failures: int = 0
    restore_failures: int = 0
    save_failures: int = 0
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
            detached = _GroupState(st.step, st.history.copy(), st.end, name=st.name)
        try:
            self._read_history(detached)  # waiting on the source holds no fit slot
            with FIT_SLOTS:  # at most one fit per core at a time, across all groups
                self._fit(detached, now, read=False)
        finally:
            with self._lock:
                st.fitting = False
        with self._lock:
            st = self.groups.get(group)
            if st is None or st.step != detached.step or st.end < detached.end:
                return  # the history was reset meanwhile; the next refit starts afresh
            if detached.fallback is None:  # too little history: keep what serves now
                st.problem = detached.problem
                return
            st.model, st.fallback = detached.model, detached.fallback
            st.fallback_end, st.times, st.times_start = detached.fallback_end, None, None
            st.fitted_at, st.problem = detached.fitted_at, detached.problem
            n_new = round((st.end - detached.end) / st.step)
            newer = st.history[len(st.history) - n_new :] if n_new > 0 else st.history[:0]
            keep = max(2, int(self.train_window / st.step))
            st.history = np.concatenate([detached.history, newer])[-keep:]
            if n_new > 0:
                self._update(st, newer)

    def _refit_in_background(self, name: str, st: _GroupState, now: datetime) -> None:
        """Start a refit on a worker thread (not inline: a tick never waits for a fit).
        Until the first one is done the naive fallback serves, fitted here (cheap)."""
        if st.fallback is None:
            try:
                st.fallback = NaiveForecaster(st.step).fit(_series(st.history, st.end, st.step))
                st.fallback_end = st.end
                st.problem = "first fit of the model still running"
            except ForecastError as exc:
                st.problem = f"history too short: {exc}"
                return
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
        st.history = np.concatenate([st.history, new])[-keep:]
        # Stay on the first window's grid: a live source's window ends at the tick's own
        # time, a little later or earlier each tick, and the models continue a grid.
        st.end = st.end + n_new * st.step
        return st, new

    def _restore(self, st: _GroupState, now: datetime) -> None:
        """Use the group's stored model when it is younger than ``retrain``, brought up
        to date with the source's points since it was trained (none read: not used)."""
        st.restored = True
        try:
            if self.store.current(st.name) is None:
                return  # nothing stored yet (the first start)
            model, meta = self.store.load(st.name)
            trained_to = pd.Timestamp(meta.trained_to).to_pydatetime()
            if model.step != st.step or now - trained_to >= self.retrain or trained_to > st.end:
                return
            # continue the model's grid from here on (the ticks' own grid is re-anchored)
            steps = int((st.end - trained_to) / st.step)
            if steps > 0:
                if self.history is None:
                    return
                grid = pd.date_range(trained_to + st.step, periods=steps, freq=st.step)
                newer = self.history(grid[0].to_pydatetime(), grid[-1] + st.step, st.step)
                newer = newer.reindex(grid, method="nearest", tolerance=st.step / 2)
                model.update(newer.ffill().fillna(float(np.nanmean(st.history))))
            st.end = trained_to + steps * st.step
            st.fallback = NaiveForecaster(st.step).fit(_series(st.history, st.end, st.step))
            st.fallback_end = st.end
        except Exception as exc:  # no model, a refused or stale one: fit as usual
            self.restore_failures += 1
            st.problem = f"stored model not used: {type(exc).__name__}: {exc}"
            return
        st.model, st.fitted_at, st.problem = model, trained_to, ""

    def _save(self, st: _GroupState) -> None:
        """Keep the freshly fitted model in the store (when there is one)."""
        if self.store is None or st.model is None or not st.name:
            return
        first = st.end - (len(st.history) - 1) * st.step
        try:
            self.store.save(st.name, st.model, trained=(first, st.end))
        except Exception as exc:  # a full disk must not stop forecasting
            self.save_failures += 1
            st.problem = f"model not stored: {type(exc).__name__}: {exc}"

    def _read_history(self, st: _GroupState) -> None:
        """Replace the group's history by the source's ``train_window`` up to ``st.end``
        when the source has more of it (always, after a restart); keep it otherwise."""
        if self.history is None:
            return
        keep = max(2, int(self.train_window / st.step))
        try:
            got = self.history(st.end - (keep - 1) * st.step, st.end + st.step, st.step)
            n = len(got)
            if 0 < n <= keep and on_grid(got.index, st.end, st.step):
                # the last n points of our grid already (a trace; shorter while it
                # starts): no reindex
                values = np.full(keep, np.nan)
                values[keep - n :] = got.to_numpy(dtype=float)
            else:
                # nearest within half a step: sources round timestamps (Prometheus to ms)
                grid = pd.date_range(end=st.end, periods=keep, freq=st.step)
                values = got.reindex(grid, method="nearest", tolerance=st.step / 2).to_numpy(
                    dtype=float
                )
        except Exception as exc:  # the source is down: train on what the ticks saw
            self.history_failures += 1
            st.problem = f"history unavailable: {type(exc).__name__}: {exc}"
            return
        first = np.flatnonzero(np.isfinite(values))
        if len(first) and np.isfinite(values).sum() >= np.isfinite(st.history).sum():
            st.history = values[first[0] :]

    def _fit(self, st: _GroupState, now: datetime, *, read: bool = True) -> None:
        """Fit ``st``'s model on its history (first read from the source, with ``read``)."""
        if read:
            self._read_history(st)
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
            st.model = model.fit(y.ffill().bfill() if y.isna().any() else y)
            st.problem = ""
            self._save(st)
            self.fits += 1  # one writer at a time: the lock, or the group's own refit job
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
