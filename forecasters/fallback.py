"""A forecaster that falls back to seasonal persistence, then persistence, when its model fails.

The engine wraps every configured model in this: a fit failure (numerical trouble,
too little history for the model) must not leave a group without a forecast. Only
when even persistence cannot fit (fewer than two points, no finite value) does
``fit`` raise ``ForecastError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pandas as pd

from autoscaler.forecasters.baselines import NaiveForecaster, SeasonalNaiveForecaster
from autoscaler.model import Forecast, ForecastError


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


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

    def fit(self, y: pd.Series) -> FallbackForecaster:
        """Fit the primary, else seasonal naive, else naive. Raises ``ForecastError`` if none fits."""
        self.active, self.reason = None, ""
        candidates = [self.primary]
        if self.primary.name not in ("seasonal_naive", "naive"):
            candidates.append(SeasonalNaiveForecaster(self.step))
        if self.primary.name != "naive":
            candidates.append(NaiveForecaster(self.step))
        failures = []
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
        self.active.update(y)
        return self

    def predict(self, horizon: int, quantiles: Sequence[float] = ()) -> Forecast:
        if self.active is None:
            raise ForecastError(f"{self.name}: predict called before fit")
        fc = self.active.predict(horizon, quantiles)
        if not self.fell_back:
            return fc
        note = f"fell back to {self.active.name} because {self.reason}"
        return dataclasses.replace(fc, note="; ".join(n for n in (note, fc.note) if n))
