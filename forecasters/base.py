"""The shared skeleton of every forecaster: input checks, bookkeeping, output shaping.

A subclass implements ``_fit(values)``, ``_update(new_values)`` and
``_predict(horizon, quantiles) -> (mean, bands)`` on plain float arrays; this class
turns pandas in and ``Forecast`` out, so that every model treats gaps, timestamps,
non-negativity and quantile ordering the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from autoscaler.forecasters.forecast_times import future_forecast, short_forecast
from autoscaler.forecasters.forecast_times import pd_step as _pd_step
from autoscaler.forecasters.intervals import check_quantiles, monotone_rows
from autoscaler.forecasters.series_input import clean_series, steps_per_day
from autoscaler.forecasters.short_path import SHORT, checked_short, short_arrays
from autoscaler.forecasters.trailing import Trailing, trailing_for
from autoscaler.model import Forecast, ForecastError

# Models keep at most this much recent history for their own use (residual samples,
# windows); the fitted state itself does not grow with the series.
HISTORY_CAP = 4 * 2016


@functools.lru_cache(maxsize=64)
def _checked(quantiles: tuple[Any, ...]) -> tuple[float, ...]:
    return check_quantiles(quantiles)


def checked_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """``check_quantiles(quantiles)``, remembered for a tuple (a provider asks with the
    same one at every decision, and each wrapper of a model checks it again)."""
    if type(quantiles) is tuple:
        try:
            return _checked(quantiles)
        except TypeError:  # an unhashable member: checked (and refused) as it comes
            pass
    return check_quantiles(quantiles)


def _stacked(
    bands: dict[float, np.ndarray] | np.ndarray, quantiles: tuple[float, ...], horizon: int
) -> np.ndarray:
    """A model's bands as one (quantiles x horizon) array (the checks then run once, not
    per quantile); ``bands`` is a dict by quantile or already one row per quantile."""
    stacked = np.empty((len(quantiles), horizon))
    if isinstance(bands, np.ndarray):
        stacked[:] = bands
    else:
        for i, q in enumerate(quantiles):
            stacked[i] = bands[q]
    return stacked


class BaseForecaster:
    """Common behaviour; see ``autoscaler.interfaces.Forecaster`` for the contract.

    ``params`` are the constructor's keyword arguments, kept for the model store.
    """

    name: ClassVar[str] = "base"
    min_history: int = 2
    # Forecasts of up to this many steps (with quantiles) are checked on Python floats
    # (``short_path``); the same arrays as the array path's, which serves longer ones.
    short_horizon: int = SHORT

    def __init__(self, step: timedelta, seed: int = 0, **params: Any) -> None:
        if step <= timedelta(0):
            raise ForecastError(f"step must be positive, not {step}")
        self.step = step
        self.seed = int(seed)
        self.params = dict(params, seed=self.seed)
        self.day = steps_per_day(step)
        self._history = np.empty(0)
        self._last: pd.Timestamp | None = None
        self._first: pd.Timestamp | None = None
        self._nonnegative = True
        self._notes: list[str] = []
        self._filled_on_update = 0
        # (max, min, updates since computed) of the recent history, for the bound check
        self._extent: tuple[float, float, int] | None = None

    # -- public interface --------------------------------------------------------

    def fit(self, y: pd.Series) -> BaseForecaster:
        """Fit on ``y``. Raises ``ForecastError`` on bad input or too little history."""
        clean = clean_series(y, self.step)
        n = len(clean.values)
        if n < self.min_history:
            raise ForecastError(
                f"{self.name} needs at least {self.min_history} points of history, got {n}"
            )
        self._notes = [f"filled {clean.filled} missing point(s)"] if clean.filled else []
        self._filled_on_update = 0
        self._nonnegative = bool(clean.values.min() >= 0)
        self._history = clean.values[-HISTORY_CAP:].copy()
        self._extent = None
        self._first, self._last = clean.start, clean.last
        try:
            self._fit(clean.values)
        except ForecastError:
            raise
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as exc:
            raise ForecastError(f"{self.name} failed to fit: {exc}") from exc
        return self

    def update(self, y: pd.Series) -> BaseForecaster:
        """Append the points of ``y`` after the last one seen, without refitting.

        Points at or before the last seen timestamp are ignored; the new ones must
        continue the grid without a hole (NaN inside ``y`` is fine and is filled).
        """
        last = self._require_fitted()
        one = self._one_point(y, last)
        if one is not None:  # the daemon's tick: one point, checked without pandas
            new, filled, new_last = one
            if new_last is None:
                return self
        else:
            y = y[y.index > last] if len(y) else y
            if len(y) == 0:
                return self
            first = y.index[0] if y.index.tz is not None else y.index[0].tz_localize("UTC")
            self._check_next(first, last)
            # Fill gaps against the previous value so that a leading NaN is held, not dropped.
            prev = pd.Series([self._history[-1]], index=pd.DatetimeIndex([last]))
            joined = pd.concat([prev, y.astype(float)])
            clean = clean_series(joined, self.step, what=f"{self.name}.update input")
            new, filled, new_last = clean.values[1:], clean.filled, clean.last
        saved = (self._history, self._last, self._nonnegative)
        self._nonnegative = self._nonnegative and bool(new.min() >= 0)
        self._history = self._extended("_history", new, HISTORY_CAP)
        self._extent = None
        self._last = new_last
        try:
            self._update(new)
            self._filled_on_update += filled
        except Exception as exc:
            # Leave the model as it was: a failed update must not half-apply.
            self._history, self._last, self._nonnegative = saved
            if isinstance(exc, ForecastError):
                raise
            raise ForecastError(f"{self.name} failed to update: {exc}") from exc
        return self

    def _one_point(
        self, y: pd.Series, last: pd.Timestamp
    ) -> tuple[np.ndarray, int, pd.Timestamp | None] | None:
        """``update``'s checks for a one-point ``y`` on a DatetimeIndex, done on the
        scalar: (new values, filled, new last; None when already seen). None for any
        other input, which takes the general path (and its errors)."""
        if not isinstance(y, pd.Series) or len(y) != 1 or not isinstance(y.index, pd.DatetimeIndex):
            return None
        try:
            value = float(y.iloc[0])
        except (TypeError, ValueError):
            return None
        ts = y.index[0]
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        if ts <= last:
            return np.empty(0), 0, None
        self._check_next(ts, last)
        if math.isinf(value):
            raise ForecastError(f"{self.name}.update input contains infinite values")
        if math.isnan(value):  # held at the previous value, as the general path fills it
            return np.array([self._history[-1]]), 1, ts
        return np.array([value]), 0, ts

    def _check_next(self, first: pd.Timestamp, last: pd.Timestamp) -> None:
        """Raises ``ForecastError`` unless ``first`` continues the grid after ``last``."""
        expected = last + _pd_step(self.step)
        if first != expected:
            raise ForecastError(
                f"{self.name}.update: expected the next point at {expected}, got {first}"
            )

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        """Forecast ``horizon`` steps after the last observation, with ``quantiles``."""
        last = self._require_fitted()
        qs = checked_quantiles(quantiles)
        short = self._checked_floats(horizon, qs)
        if short is not None:  # arrays built only if someone reads them (a policy does not)
            return short_forecast(last, self.step, short, qs, self.name, self.note)
        mean, bands = self.predict_arrays(horizon, qs)
        return future_forecast(last, self.step, int(horizon), mean, bands, self.name, self.note)

    # -- the array path (the engine's forecast provider, once per decision) ----------

    def update_values(self, new: np.ndarray) -> None:
        """``update`` with finite values that continue the grid right after the last
        point, without pandas. Raises ``ForecastError`` (the model is then unchanged)."""
        last = self._require_fitted()
        new = np.asarray(new, dtype=float)
        if len(new) == 1:  # the decision's one new sample: checked on the scalar
            lo_new = hi_new = float(new[0])
            finite = math.isfinite(lo_new)
        elif len(new) == 0:
            return
        else:
            finite = bool(np.isfinite(new).all())
            lo_new, hi_new = float(new.min()), float(new.max())
        if not finite:
            raise ForecastError(f"{self.name}.update_values: values must be finite")
        saved = (self._history, self._last, self._nonnegative)
        self._nonnegative = self._nonnegative and lo_new >= 0
        self._history = self._extended("_history", new, HISTORY_CAP)
        self._last = last + (
            _pd_step(self.step) if len(new) == 1 else len(new) * _pd_step(self.step)
        )
        try:
            self._update(new)
        except Exception as exc:
            self._history, self._last, self._nonnegative = saved
            if isinstance(exc, ForecastError):
                raise
            raise ForecastError(f"{self.name} failed to update: {exc}") from exc
        if self._extent is not None:
            hi, lo, n = self._extent
            self._extent = (max(hi, hi_new), min(lo, lo_new), n + len(new))

    def predict_arrays(
        self, horizon: int, quantiles: tuple[float, ...]
    ) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        """``predict``'s mean and monotone quantile bands, without the index or the note.
        ``quantiles`` must be sorted and checked (``check_quantiles``)."""
        short = self._checked_floats(horizon, quantiles)
        if short is not None:
            return short_arrays(*short, quantiles)
        horizon = int(horizon)
        mean, bands = self._predict(horizon, quantiles)
        mean = np.asarray(mean, dtype=float)
        if mean.shape != (horizon,):
            raise ForecastError(f"{self.name} produced an invalid forecast")
        bound = self._plausible_bound()
        peak = float(np.maximum.reduce(np.abs(mean)))  # .max() without its Python wrapper
        if not math.isfinite(peak):  # NaN or infinite somewhere (NaN propagates in max)
            raise ForecastError(f"{self.name} produced an invalid forecast")
        if peak > bound:
            # A numerically unstable model, not a forecast: let the caller fall back.
            raise ForecastError(
                f"{self.name} produced an implausible forecast (beyond {bound:.4g})"
            )
        if not quantiles:
            return (np.maximum(mean, 0.0) if self._nonnegative else mean), {}
        stacked = _stacked(bands, quantiles, horizon)
        # One reduction says whether every value is finite (a NaN or an infinity makes
        # the sum so; an overflow of finite ones too, and then the mask says it is fine).
        if not math.isfinite(float(np.add.reduce(stacked, None))):
            finite = np.isfinite(stacked)
            if not np.logical_and.reduce(finite, None):  # .all() without its wrapper
                # A degenerate interval (NaN spread) collapses onto the mean, not a failure.
                stacked = np.where(finite, stacked, mean)
        if self._nonnegative:
            mean = np.maximum(mean, 0.0)
            np.maximum(stacked, 0.0, out=stacked)
        return mean, monotone_rows(stacked, quantiles, mean)

    def _checked_floats(
        self, horizon: int, quantiles: tuple[float, ...]
    ) -> tuple[list[float], list[list[float]]] | None:
        """Checks the arguments (raises ``ForecastError``); for a short forecast (a
        decision's: up to ``short_horizon`` steps, with quantiles), its values checked on
        Python floats (``short_path``); None for any other, which takes the arrays."""
        self._require_fitted()
        if int(horizon) != horizon or horizon < 1:
            raise ForecastError(f"horizon must be a positive number of steps, not {horizon!r}")
        horizon = int(horizon)
        if not quantiles or horizon > self.short_horizon:
            return None
        floats = self._predict_floats(horizon, quantiles)
        bound = self._plausible_bound()
        return checked_short(self.name, *floats, quantiles, self._nonnegative, bound)

    def _predict_floats(
        self, horizon: int, quantiles: tuple[float, ...]
    ) -> tuple[list[float], list[list[float]]]:
        """``_predict`` as Python floats: the mean, and one list per quantile (in order).
        A model may compute them so directly (the level model does); this default
        converts ``_predict``'s arrays. Raises ``ForecastError`` on a misshapen mean."""
        mean, bands = self._predict(horizon, quantiles)
        mean = np.asarray(mean, dtype=float)
        if mean.shape != (horizon,):
            raise ForecastError(f"{self.name} produced an invalid forecast")
        return mean.tolist(), _stacked(bands, quantiles, horizon).tolist()

    def _plausible_bound(self) -> float:
        """The largest plausible forecast, from the range of the recent history. The
        range is kept up to date by ``update_values`` (the array path asks at every
        decision) and recomputed from the history every ``HISTORY_CAP // 8`` updates, so
        values that left the history widen it a little while, never narrow it."""
        ext = self._extent
        if ext is None or ext[2] > HISTORY_CAP // 8:
            recent = self._history[-HISTORY_CAP:]
            ext = self._extent = (float(recent.max()), float(recent.min()), 0)
        hi, lo, _ = ext
        return 10 * (max(abs(hi), abs(lo)) + (hi - lo)) + 1e-9

    @property
    def note(self) -> str:
        """What the forecast's note says about the input (filled points)."""
        return "; ".join(self._notes + self._update_notes())

    def _update_notes(self) -> list[str]:
        n = self._filled_on_update
        return [f"filled {n} missing point(s) on update"] if n else []

    @property
    def trained_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last timestamps seen (fit + updates), None before fitting."""
        if self._first is None or self._last is None:
            return None
        return self._first, self._last

    def __getstate__(self) -> dict[str, Any]:
        """The model's state without its ``Trailing`` buffers (rebuilt at the next
        update from the plain windows, which are kept): stored models hold arrays only."""
        return {k: v for k, v in self.__dict__.items() if not isinstance(v, Trailing)}

    # -- for subclasses ----------------------------------------------------------

    def _extended(self, attr: str, new: np.ndarray, keep: int) -> np.ndarray:
        """``np.concatenate([getattr(self, attr), new])[-keep:]``, without copying the
        whole window at every update (``Trailing``; the buffer is kept beside it)."""
        slot = f"{attr}_trailing"
        trail = trailing_for(self.__dict__.get(slot), keep)
        setattr(self, slot, trail)
        return trail.extend(getattr(self, attr), new)

    def _fit(self, values: np.ndarray) -> None:
        raise NotImplementedError

    def _update(self, new: np.ndarray) -> None:
        """Default: nothing beyond the history kept by the base class."""

    def _predict(
        self, horizon: int, quantiles: tuple[float, ...]
    ) -> tuple[np.ndarray, dict[float, np.ndarray] | np.ndarray]:
        """The mean and the bands: a dict by quantile, or one row per quantile (in the
        order of ``quantiles``) of a (quantiles x horizon) array."""
        raise NotImplementedError

    def _require_fitted(self) -> pd.Timestamp:
        if self._last is None:
            raise ForecastError(f"{self.name}: predict/update called before fit")
        return self._last
