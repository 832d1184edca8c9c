"""Forecasting inside the engine: one retraining forecaster per group, the same in the
daemon and in the simulator.

``RetrainingForecastProvider`` implements the engine's ``ForecastProvider``. It keeps
each group's recent history (the engine only hands it the lookback window), refits the
group's model every ``retrain`` on the trailing ``train_window``, calls the cheap
``update()`` in between, and falls back to ``PersistenceForecaster`` when the model is
missing, has too little history, or fails; the reason is in ``Forecast.note``.

Who refits: in the simulator the provider refits inside ``forecast`` when a refit is due
(``inline``); the daemon turns that off and its per-group retraining job calls
``refit`` on the same schedule, so a slow fit never delays an evaluation. Both use the
same code path (``_fit``), the same trailing window and the same fallback.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.intervals import make_monotone
from autoscaler.interfaces import Forecaster
from autoscaler.model import Forecast, ForecastError, GroupSpec, MetricWindow

ForecasterFactory = Callable[[timedelta], Forecaster]


def _series(values: np.ndarray, end: datetime, step: timedelta) -> pd.Series:
    index = pd.date_range(end=end, periods=len(values), freq=step)
    return pd.Series(values, index=index, dtype=float)


BANDS = ("absolute", "relative", "local")


class PersistenceForecaster:
    """A level forecast with empirical bands: the naive model when ``alpha`` is 1.

    The anchor is an exponentially weighted level of the observations (``alpha`` = 1:
    the last value, i.e. the naive forecast; smaller: a smoother level, less thrown by
    one noisy sample). The mean is the level. The band for ``k`` steps ahead is the
    quantile of ``y[t+k] - level[t]`` over the fitted history, then, by ``bands``:

    * ``absolute``: used as it is;
    * ``relative``: taken of that difference over ``level[t]``, then scaled by the
      current level (widens exactly at the peaks);
    * ``local``: rescaled by the recent noise, i.e. the mean absolute size of the last
      ``noise_memory`` or so one-step errors (exponentially weighted, kept up to date by
      ``update``) over that of the whole history. Absolute rather than squared errors,
      so that one spike does not widen the band for hours. Load is noisier by day than by night;
      a band fitted on the whole day is too narrow at noon and too wide at 3 am.

    ``season`` (``None``, a period in steps, or ``"auto"``): a recurring pattern such as
    an hourly batch job. The upper quantiles (above 0.5) are then at least the largest
    load seen one period earlier within one step of the same phase, so a spike that came
    an hour ago is provisioned for before it comes again. ``"auto"`` looks, at each fit,
    for an hourly or daily period in the autocorrelation of the one-step errors (at
    least three periods of history and a correlation of ``season_min_acf``).

    Forecasts are clipped at zero. ``fit`` needs two observations (raises
    ``ForecastError``); ``update`` only moves the level, the noise and the recent tail.
    """

    min_history = 2

    def __init__(
        self,
        step: timedelta | None = None,
        alpha: float = 1.0,
        bands: str = "absolute",
        *,
        season: int | str | None = None,
        noise_memory: int = 30,
        season_min_acf: float = 0.3,
    ) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], not {alpha}")
        if bands not in BANDS:
            raise ValueError(f"bands must be one of {', '.join(BANDS)}, not {bands!r}")
        if not (season is None or season == "auto" or (isinstance(season, int) and season >= 2)):
            raise ValueError(f"season must be auto or a period of at least 2 steps, not {season!r}")
        if noise_memory < 2:
            raise ValueError(f"noise_memory must be at least 2, not {noise_memory}")
        self.step = step
        self.alpha = alpha
        self.bands = bands
        self.season_setting = season
        self.season: int | None = season if isinstance(season, int) else None
        self.beta = 1.0 / noise_memory
        self.season_min_acf = season_min_acf
        self.name = "naive" if alpha == 1 else "level"
        self._history = np.empty(0)
        self._levels = np.empty(0)
        self._floor = 1e-9
        self._level = math.nan
        self._noise = 0.0  # recent mean absolute one-step error
        self._noise_all = 0.0  # the same over the whole fitted history
        self._tail = np.empty(0)  # the last season + 2 observations
        self._last_time: pd.Timestamp | None = None
        self._bands: dict[tuple[int, tuple[float, ...]], np.ndarray] = {}

    def fit(self, y: pd.Series) -> PersistenceForecaster:
        values = y.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if len(finite) < self.min_history:
            raise ForecastError(f"needs {self.min_history} observations, has {len(finite)}")
        filled = pd.Series(values).ffill().bfill()
        self._history = filled.to_numpy()
        self._levels = filled.ewm(alpha=self.alpha, adjust=False).mean().to_numpy()
        self._floor = max(0.1 * float(np.mean(np.abs(self._history))), 1e-9)
        self._bands.clear()
        self._level = float(self._levels[-1])
        errors = self._history[1:] - self._levels[:-1]
        self._noise_all = float(np.mean(np.abs(errors))) if len(errors) else 0.0
        weights = (1.0 - self.beta) ** np.arange(len(errors))[::-1]
        self._noise = (
            float(np.sum(weights * np.abs(errors)) / np.sum(weights)) if len(errors) else 0.0
        )
        if self.season_setting == "auto":
            self.season = self._detect_season(errors)
        keep = (self.season or 0) + 2
        self._tail = self._history[-keep:].copy() if self.season else np.empty(0)
        self._set_time(y)
        return self

    def _detect_season(self, errors: np.ndarray) -> int | None:
        if self.step is None or self.step <= timedelta(0) or len(errors) == 0:
            return None
        x = errors - errors.mean()
        denom = float(np.dot(x, x))
        if denom <= 0:
            return None
        best, best_acf = None, self.season_min_acf
        for period in (timedelta(hours=1), timedelta(days=1)):
            p = round(period / self.step)
            if p < 2 or 3 * (p + 1) > len(errors):
                continue
            acf = max(float(np.dot(x[lag:], x[:-lag])) / denom for lag in (p - 1, p, p + 1))
            if acf >= best_acf:
                best, best_acf = p, acf
        return best

    def update(self, y: pd.Series) -> PersistenceForecaster:
        if len(y) == 0:
            return self
        seen = []
        for v in y.to_numpy(dtype=float):
            if math.isfinite(v):
                if math.isnan(self._level):
                    self._level = v
                else:
                    e = v - self._level
                    self._noise += self.beta * (abs(e) - self._noise)
                    self._level += self.alpha * e
                seen.append(v)
        if self.season and seen:
            self._tail = np.concatenate([self._tail, seen])[-(self.season + 2) :]
        self._set_time(y)
        return self

    def _set_time(self, y: pd.Series) -> None:
        if self.step is None and len(y.index) >= 2:
            self.step = (y.index[-1] - y.index[-2]).to_pytimedelta()
        self._last_time = y.index[-1]

    def _history_bands(self, horizon: int, quantiles: tuple[float, ...]) -> np.ndarray:
        key = (horizon, quantiles)
        cached = self._bands.get(key)
        if cached is not None:
            return cached
        h, lv = self._history, self._levels
        out = np.zeros((len(quantiles), horizon))
        p = self.season
        # With a season, the error is measured against the larger of the level and the
        # recurrence (what the upper quantiles already carry), so that spikes the
        # recurrence foresees do not also widen the band at every other phase.
        m3 = np.maximum(np.maximum(h, np.roll(h, 1)), np.roll(h, -1)) if p else h
        for k in range(1, horizon + 1):
            kk = min(k, len(h) - 1)
            ref = lv[:-kk]
            if p and kk < p and len(h) > p + 1:
                ref = ref.copy()
                j = np.arange(kk, len(h))  # the sample each error is about
                ok = j - p - 1 >= 0
                ref[ok] = np.maximum(ref[ok], m3[j[ok] - p])
            rel = h[kk:] - ref
            if self.bands == "relative":
                rel = rel / np.maximum(lv[:-kk], self._floor)
            out[:, k - 1] = np.quantile(rel, quantiles)
        self._bands[key] = out
        return out

    def _recurrence(self, horizon: int) -> np.ndarray | None:
        """The largest load one season before each forecast step, within one step of its
        phase (NaN where that lies beyond what has been seen)."""
        p = self.season
        if not p or len(self._tail) < p + 2:
            return None
        out = np.full(horizon, np.nan)
        last = len(self._tail) - 1  # index of the newest observation
        for k in range(1, min(horizon, p) + 1):
            centre = last + k - p
            lo, hi = max(centre - 1, 0), min(centre + 1, last)
            if lo <= hi:
                out[k - 1] = self._tail[lo : hi + 1].max()
        return out

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        if self._last_time is None or self.step is None or not math.isfinite(self._level):
            raise ForecastError("predict() before fit()")
        qs = tuple(sorted(float(q) for q in quantiles))
        index = pd.date_range(self._last_time + self.step, periods=horizon, freq=self.step)
        mean = np.full(horizon, self._level)
        bands = self._history_bands(horizon, qs) if qs else np.zeros((0, horizon))
        if self.bands == "relative":
            scale = max(self._level, self._floor)
        elif self.bands == "local" and self._noise_all > 0:
            scale = self._noise / self._noise_all
        else:
            scale = 1.0
        recur = self._recurrence(horizon) if qs and qs[-1] > 0.5 else None
        qmap = {}
        for i, q in enumerate(qs):
            values = np.maximum(self._level + scale * bands[i], 0.0)
            if recur is not None and q > 0.5:
                values = np.fmax(values, recur)
            qmap[q] = values
        return Forecast(index, mean, make_monotone(qmap, mean), model=self.name)


@dataclass
class _GroupState:
    step: timedelta
    history: np.ndarray
    end: datetime
    model: Forecaster | None = None
    fallback: Forecaster | None = None
    fitted_at: datetime | None = None
    problem: str = ""  # why the model is not in use, if it is not
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
    is ``PersistenceForecaster``. The horizon is at least boot delay + two intervals,
    so a policy always sees the window a new instance would serve. Never raises for a
    model's failure: the fallback forecast says why in its ``note``; returns None only
    when even the fallback has too little history.
    """

    make: ForecasterFactory
    retrain: timedelta = timedelta(hours=1)
    train_window: timedelta = timedelta(days=1)
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
            with FIT_SLOTS:  # at most one fit per core at a time, across all groups
                self._fit(detached, now)
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
                st.fallback = PersistenceForecaster(st.step).fit(
                    _series(st.history, st.end, st.step)
                )
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
                return st.model.predict(steps, self.quantiles)
            except Exception as exc:
                self.failures += 1
                st.problem = f"predict failed: {type(exc).__name__}: {exc}"
                st.model = None
        if st.fallback is None:
            return None
        fc = st.fallback.predict(steps, self.quantiles)
        return replace(fc, note=f"fallback to naive: {st.problem}")

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
            st.fallback = PersistenceForecaster(st.step).fit(_series(st.history, st.end, st.step))
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
        grid = pd.date_range(end=st.end, periods=keep, freq=st.step)
        try:
            got = self.history(grid[0].to_pydatetime(), st.end + st.step, st.step)
            # nearest within half a step: sources round timestamps (Prometheus to ms)
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

    def _fit(self, st: _GroupState, now: datetime) -> None:
        self._read_history(st)
        y = _series(st.history, st.end, st.step)
        st.fitted_at = now
        st.fallback = None
        try:
            st.fallback = PersistenceForecaster(st.step).fit(y)
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
            self._save(st)
            self.fits += 1  # one writer at a time: the lock, or the group's own refit job
        except Exception as exc:
            self.failures += 1
            st.model, st.problem = None, f"{model.name} fit failed: {type(exc).__name__}: {exc}"

    def _update(self, st: _GroupState, new: np.ndarray) -> None:
        y = _series(new, st.end, st.step)
        if st.fallback is not None:
            st.fallback.update(y)
        if st.model is None:
            return
        finite = y
        if not np.isfinite(new).all():
            known = st.history[np.isfinite(st.history)]
            finite = y.ffill().fillna(float(known[-1]) if len(known) else 0.0)
        try:
            st.model.update(finite)
        except Exception as exc:
            self.failures += 1
            st.model, st.problem = (
                None,
                f"{st.model.name} update failed: {type(exc).__name__}: {exc}",
            )
