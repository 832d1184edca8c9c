"""Where the forecast provider's models and history come from besides the ticks: the
metric source's training window and the model store.

``StoredHistory`` is a part of ``forecasting.RetrainingForecastProvider``: it reads a
group's whole ``train_window`` back from the source before a fit, keeps each fitted
model in the store, and after a restart serves the stored model (younger than
``retrain``) at once, brought up to date with the source's points since it was
trained. Every failure here is counted and the provider carries on without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from autoscaler.forecasters.series_input import on_grid

HistoryReader = Callable[[datetime, datetime, timedelta], pd.Series]


class StoredHistory:
    """Reading the training window and keeping models; needs the provider's fields
    ``history``, ``store``, ``train_window``, ``retrain`` and failure counters."""

    history: HistoryReader | None
    store: Any
    train_window: timedelta
    retrain: timedelta
    history_failures: int
    restore_failures: int
    save_failures: int

    def _restore(self, st: Any, now: datetime) -> None:
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
                end = trained_to + steps * st.step
                got = self.history(trained_to + st.step, end + st.step, st.step)
                grid = pd.date_range(end=end, periods=steps, freq=st.step)
                newer = pd.Series(on_model_grid(got, end, steps, st.step), index=grid)
                model.update(newer.ffill().fillna(float(np.nanmean(st.history))))
            st.end = trained_to + steps * st.step
        except Exception as exc:  # no model, a refused or stale one: fit as usual
            self.restore_failures += 1
            st.problem = f"stored model not used: {type(exc).__name__}: {exc}"
            return
        st.model, st.fitted_at, st.problem, st.standin = model, trained_to, "", None
        st.served = True

    def _save(self, st: Any) -> None:
        """Keep the freshly fitted model in the store (when there is one), unless it
        fell back: a restart then tries the model again."""
        if self.store is None or st.model is None or not st.name or st.model.fell_back:
            return
        first = st.end - (len(st.history) - 1) * st.step
        try:
            self.store.save(st.name, st.model, trained=(first, st.end))
        except Exception as exc:  # a full disk must not stop forecasting
            self.save_failures += 1
            st.problem = f"model not stored: {type(exc).__name__}: {exc}"

    def _read_history(self, st: Any) -> None:
        """Replace the group's history by the source's ``train_window`` up to ``st.end``
        when the source has more of it (always, after a restart); keep it otherwise."""
        if self.history is None:
            return
        keep = max(2, int(self.train_window / st.step))
        try:
            got = self.history(st.end - (keep - 1) * st.step, st.end + st.step, st.step)
            values = on_model_grid(got, st.end, keep, st.step)
        except Exception as exc:  # the source is down: train on what the ticks saw
            self.history_failures += 1
            st.problem = f"history unavailable: {type(exc).__name__}: {exc}"
            return
        first = np.flatnonzero(np.isfinite(values))
        if len(first) and np.isfinite(values).sum() >= np.isfinite(st.history).sum():
            st.history = values[first[0] :]


def on_model_grid(got: pd.Series, end: datetime, n: int, step: timedelta) -> np.ndarray:
    """The source's points ``got`` on the ``n``-point grid of ``step`` ending at ``end``
    (NaN where it has none): each the nearest within half a step, since sources round
    timestamps (Prometheus to ms)."""
    if 0 < len(got) <= n and on_grid(got.index, end, step):
        # the last points of the grid already (a trace; shorter while it starts)
        values = np.full(n, np.nan)
        values[n - len(got) :] = got.to_numpy(dtype=float)
        return values
    grid = pd.date_range(end=end, periods=n, freq=step)
    return got.reindex(grid, method="nearest", tolerance=step / 2).to_numpy(dtype=float)
