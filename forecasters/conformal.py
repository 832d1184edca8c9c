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
before the span, and the model itself is fitted on the whole series: two fits. A model that validates itself on held-out data (``auto``, ``ensemble``: it has
``validation_forecasts``) is fitted on the whole series instead, and its held-out
forecasts seed the pool: holding out twice would fit its members on too little. Online, ``update`` scores the forecasts ``predict`` made earlier and adds them to
the pool (the newest ``pool`` are kept). Adaptive conformal inference (Gibbs and
Candès, 2021) moves the working ``alpha`` by ``gamma`` x (target miss - miss) at every
scored forecast, so coverage follows changes in the noise. ``span``, ``gamma`` and
``pool`` are three days, the paper's order of magnitude and a few days of hourly
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
        self.alpha = 1.0 - self.target
        self._scores: deque[float] = deque(maxlen=int(pool))
        # forecasts not yet fully scored: (origin, mean, upper half-width, lower half-width)
        self._pending: list[tuple[pd.Timestamp, np.ndarray, np.ndarray, np.ndarray]] = []
        self.raw_band: tuple[np.ndarray, np.ndarray] | None = None  # the model's last own band

    @property
    def fell_back(self) -> bool:
        return bool(getattr(self.inner, "fell_back", False))

    @property
    def calibrated(self) -> bool:
        return len(self._scores) >= MIN_SCORES

    def fit(self, y: pd.Series) -> ConformalForecaster:
        """Fit the inner model and the score pool. Raises what the inner model raises."""
        n, h = len(y), self.horizon
        span = min(self.span, n // 3)
        self._scores.clear()
        self._pending, self.alpha = [], 1.0 - self.target
        first = n - span - 1
        if isinstance(getattr(self.inner, "validation_forecasts", None), list):
            # The model validates itself on held-out data (auto, ensemble): start from that.
            self.inner.fit(y)
            for actual, mean, lo, hi in self.inner.validation_forecasts or []:
                floor = 1e-6 * (np.abs(mean) + 1.0)
                up, down = np.maximum(hi - mean, floor), np.maximum(mean - lo, floor)
                self._score(actual, mean, up, down)
            return self
        if span <= h or first + 1 < self.min_history:
            self.inner.fit(y)
            return self
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
        return self

    def _score(self, actual: np.ndarray, mean: np.ndarray, up: np.ndarray, down: np.ndarray):
        """Adapt ``alpha`` to how this forecast's calibrated band did; pool its scores."""
        ok = np.isfinite(actual)
        if not ok.any():
            return
        err = actual[ok] - mean[ok]
        s = np.where(err >= 0, err / up[ok], -err / down[ok])
        if self.calibrated:
            miss = float(np.mean(s > self.factor()))
            self.alpha = float(
                np.clip(self.alpha + self.gamma * (1 - self.target - miss), 0.0, 0.5)
            )
        self._scores.extend(s.tolist())

    def factor(self, alpha: float | None = None) -> float:
        """The stretch of the model's band that covers ``1 - alpha`` of the pooled scores."""
        a = self.alpha if alpha is None else alpha
        if a <= 0:
            return float(max(self._scores))
        return float(np.quantile(np.asarray(self._scores), 1.0 - a))

    def update(self, y: pd.Series) -> ConformalForecaster:
        """Update the inner model, then score the earlier forecasts the new points answer."""
        self.inner.update(y)
        if len(y) == 0 or not self._pending:
            return self
        values = y.to_numpy(dtype=float)
        still = []
        for origin, mean, up, down in self._pending:
            lead = np.round((y.index - origin) / pd.Timedelta(self.step)).astype(int)
            ok = (lead >= 1) & (lead <= len(mean))
            if ok.any():
                k = lead[ok] - 1
                self._score(values[ok], mean[k], up[k], down[k])
            done = int(lead.max()) if len(lead) else 0
            if done < len(mean):
                still.append((y.index[-1], mean[done:], up[done:], down[done:]))
        self._pending = still[-self.horizon :]
        return self

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        qs = check_quantiles(quantiles)
        fc = self.inner.predict(horizon, tuple(sorted({*qs, *REF})))
        self.raw_band = (fc.quantiles[REF[0]], fc.quantiles[REF[1]])
        up, down = _half_widths(fc)
        self._pending.append((fc.index[0] - pd.Timedelta(self.step), fc.mean.copy(), up, down))
        self._pending = self._pending[-self.horizon :]
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
