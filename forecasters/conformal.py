"""Calibrated bands for any model: its own band, stretched by conformal scores, adapted online.

The model's band keeps its shape (wider at peaks, after noisy spells, further ahead);
only its width is corrected. The score of an outcome ``y`` against a forecast is how
far it fell from the mean in units of the band's half-width on that side: ``(y -
mean) / (q95 - mean)`` above the mean, ``(mean - y) / (mean - q05)`` below, so the
band covered it when the score is at most 1. The calibrated band for probability
``q`` is the mean plus ``c`` times the model's own offset for ``q``, where ``c`` is the
``1 - alpha`` quantile of recent scores (normalised conformal prediction).

At fit the last ``span`` of the series is held out: the model is fitted on what comes
before, then brought forward with ``update`` (no refit) through evenly spaced origins
in it, forecasting up to ``horizon`` steps at each; the scores of all leads form the
pool. It is then brought up to the end of the series, so the whole costs about one
fit, but leaves the model's parameters estimated without the last ``span``. With
``refit`` (a factory of fresh copies of the model) the scores come from a copy fitted
before the span, and the model itself is fitted on the whole series: two fits. A model
that validates itself on held-out data (``auto``, ``ensemble``: it has
``validation_forecasts``) is fitted on the whole series instead, and its held-out
forecasts seed the pool: holding out twice would fit its members on too little.

Online, the model forecasts ``horizon`` steps at fixed checkpoints (every ``every``
steps, counted from the end of the fit), inside ``update``: a chunk of new points is
fed to the inner model up to each checkpoint it contains, so a daemon updating one
point a tick and a backtest updating a day at a time score the same forecasts. Once
all its leads have been seen, a checkpoint's forecast is scored and its scores join
the pool (the newest ``pool`` are kept), and adaptive conformal inference (Gibbs and
Candès, 2021) moves the working ``alpha`` by ``gamma`` x (target miss - miss), so
coverage follows changes in the noise. ``span``, ``every``, ``gamma`` and ``pool``
are three days, an hour, the paper's order of magnitude and a few days of hourly
forecasts: set by reasoning, not chosen on the benchmark's series.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.intervals import check_quantiles, make_monotone
from autoscaler.forecasters.series_input import to_steps
from autoscaler.model import Forecast, ForecastError

MIN_SCORES = 60  # fewer scored outcomes than this: the model's own bands are kept
REF = (0.05, 0.95)  # the band whose half-widths are the unit of the scores


class ConformalForecaster:
    """Wraps ``inner`` (a forecaster); ``name`` and ``min_history`` are the inner model's."""

    def __init__(
        self,
        inner: Any,
        step: timedelta,
        *,
        span: int | str = "3d",
        horizon: int | str = "1h",
        origins: int = 72,
        target: float = 0.9,
        gamma: float = 0.005,
        pool: int = 2000,
        every: int | str = "1h",
        refit: Callable[[], Any] | None = None,
    ) -> None:
        if not 0 < target < 1:
            raise ForecastError(f"target coverage must be in (0, 1), not {target}")
        self.inner = inner
        self.refit = refit
        self.step = step
        self.name: str = inner.name
        self.min_history = int(getattr(inner, "min_history", 2))
        self.span = to_steps(span, step, name="span")
        self.horizon = to_steps(horizon, step, name="horizon")
        self.origins = max(1, int(origins))
        self.target = float(target)
        self.gamma = float(gamma)
        self.every = max(1, to_steps(every, step, name="every"))
        self.alpha = 1.0 - self.target
        self._scores: deque[float] = deque(maxlen=int(pool))
        # checkpoint forecasts not yet fully seen: (mean, upper, lower half-width, actuals)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]] = []
        self._pos = 0  # points seen since the end of the fit
        self._last: pd.Timestamp | None = None
        self.raw_band: tuple[np.ndarray, np.ndarray] | None = None  # the model's last own band

    @property
    def fell_back(self) -> bool:
        return bool(getattr(self.inner, "fell_back", False))

    @property
    def calibrated(self) -> bool:
        return len(self._scores) >= MIN_SCORES

    def fit(self, y: pd.Series) -> ConformalForecaster:
        """Fit the inner model and the score pool. Raises what the inner model raises."""
        self._scores.clear()
        self._pending, self.alpha, self._pos = [], 1.0 - self.target, 0
        self._fit_pool(y)
        self._last = y.index[-1]
        self._checkpoint()
        return self

    def _fit_pool(self, y: pd.Series) -> None:
        n, h = len(y), self.horizon
        span = min(self.span, n // 3)
        first = n - span - 1
        if isinstance(getattr(self.inner, "validation_forecasts", None), list):
            # The model validates itself on held-out data (auto, ensemble): start from that.
            self.inner.fit(y)
            for actual, mean, lo, hi in self.inner.validation_forecasts or []:
                floor = 1e-6 * (np.abs(mean) + 1.0)
                up, down = np.maximum(hi - mean, floor), np.maximum(mean - lo, floor)
                self._score(actual, mean, up, down)
            return
        if span <= h or first + 1 < self.min_history:
            self.inner.fit(y)
            return
        scorer = self.refit() if self.refit is not None else self.inner
        scorer.fit(y.iloc[: first + 1])
        values = y.to_numpy(dtype=float)
        last = first
        for o in np.unique(np.linspace(first, n - 2, self.origins).round().astype(int)):
            if o > last:
                scorer.update(y.iloc[last + 1 : o + 1])
                last = int(o)
            fc = scorer.predict(h, REF)
            up, down = _half_widths(fc)
            actual = values[o + 1 : o + 1 + h]
            self._score(actual, fc.mean[: len(actual)], up[: len(actual)], down[: len(actual)])
        if scorer is not self.inner:
            self.inner.fit(y)
        elif last < n - 1:
            self.inner.update(y.iloc[last + 1 :])

    def _score(self, actual: np.ndarray, mean: np.ndarray, up: np.ndarray, down: np.ndarray):
        """Adapt ``alpha`` to how this forecast's calibrated band did; pool its scores.
        Leads where the model's band had no width are not scored: a score is a distance
        in units of that width, and one such forecast would stretch every later band."""
        floor = 1e-6 * (np.abs(mean) + 1.0)
        ok = np.isfinite(actual) & (up > floor) & (down > floor)
        if not ok.any():
            return
        err = actual[ok] - mean[ok]
        s = np.where(err >= 0, err / up[ok], -err / down[ok])
        if self.calibrated:
            # one step of Gibbs and Candes' update per scored outcome, as they have it
            misses = int(np.sum(s > self.factor()))
            step = self.gamma * ((1 - self.target) * len(s) - misses)
            self.alpha = float(np.clip(self.alpha + step, 0.0, 0.5))
        self._scores.extend(s.tolist())

    def factor(self, alpha: float | None = None) -> float:
        """The stretch of the model's band that covers ``1 - alpha`` of the pooled scores."""
        a = self.alpha if alpha is None else alpha
        if a <= 0:
            return float(max(self._scores))
        return float(np.quantile(np.asarray(self._scores), 1.0 - a))

    def update(self, y: pd.Series) -> ConformalForecaster:
        """Update the inner model up to each checkpoint in ``y``, forecasting there, and
        score the checkpoint forecasts whose leads have all been seen."""
        if self._last is not None and len(y):
            y = y[y.index > self._last]
        if len(y) == 0:
            self.inner.update(y)
            return self
        i = 0
        while i < len(y):
            take = min(len(y) - i, self.every - self._pos % self.every)
            chunk = y.iloc[i : i + take]
            self.inner.update(chunk)
            self._last = chunk.index[-1]
            self._pos += take
            i += take
            self._collect(chunk.to_numpy(dtype=float))
            if self._pos % self.every == 0:
                self._checkpoint()
        return self

    def _checkpoint(self) -> None:
        try:
            fc = self.inner.predict(self.horizon, REF)
        except ForecastError:
            return  # no forecast to score here; the next checkpoint tries again
        up, down = _half_widths(fc)
        self._pending.append((fc.mean.copy(), up, down, []))

    def _collect(self, values: np.ndarray) -> None:
        still = []
        for mean, up, down, seen in self._pending:
            seen.extend(values[: len(mean) - len(seen)].tolist())
            if len(seen) < len(mean):
                still.append((mean, up, down, seen))
            else:
                self._score(np.asarray(seen), mean, up, down)
        self._pending = still

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        qs = check_quantiles(quantiles)
        fc = self.inner.predict(horizon, tuple(sorted({*qs, *REF})))
        self.raw_band = (fc.quantiles[REF[0]], fc.quantiles[REF[1]])
        if not self.calibrated:
            return dataclasses.replace(fc, quantiles={q: fc.quantiles[q] for q in qs})
        c = self.factor()
        mean = fc.mean
        bands = {q: mean + c * (fc.quantiles[q] - mean) for q in qs}
        if bool((fc.mean >= 0).all()) and all(bool((fc.quantiles[q] >= 0).all()) for q in qs):
            bands = {q: np.maximum(b, 0.0) for q, b in bands.items()}
        note = f"bands x{c:.2f} (conformal, alpha {self.alpha:.3f})"
        return dataclasses.replace(
            fc,
            quantiles=make_monotone(bands, mean),
            note="; ".join(n for n in (fc.note, note) if n),
        )


def _half_widths(fc: Forecast) -> tuple[np.ndarray, np.ndarray]:
    """Distances from the mean to the reference band's edges, floored away from zero."""
    floor = 1e-6 * (np.abs(fc.mean) + 1.0)
    up = np.maximum(fc.quantiles[REF[1]] - fc.mean, floor)
    down = np.maximum(fc.mean - fc.quantiles[REF[0]], floor)
    return up, down
