"""The forecast provider trains on the whole training window read from the metric source,
not only on the lookback windows the process has seen since it started."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from autoscaler.config import parse_config
from autoscaler.model import SourceError
from autoscaler.registry import build_binding
from autoscaler.simulator.source import TraceSource

NASA = (
    Path(__file__).resolve().parents[3].parent
    / "shared/data/nasa-http-1995/nasa_http_1995_per_minute.csv"
)
MIN = timedelta(minutes=1)


def _setup(source_cls=TraceSource):  # type: ignore[no-untyped-def]
    raw = pd.read_csv(NASA, nrows=3 * 1440)
    values = raw["requests"].to_numpy(dtype=float)
    start = pd.Timestamp(raw["timestamp"][0]).to_pydatetime()
    source = source_cls(values, start, MIN)
    cfg = parse_config(
        {
            "groups": [
                {
                    "name": "web",
                    "policies": [{"kind": "predictive_target"}],
                    "forecaster": {"model": "level", "train_window": "2d", "retrain": "1h"},
                }
            ]
        }
    )
    g = cfg.groups[0]
    binding = build_binding(cfg, g, source=source, cloud=None, refit_inline=True)  # type: ignore[arg-type]
    return values, start, source, binding


def test_the_first_fit_reads_the_whole_training_window_from_the_source() -> None:
    values, start, source, binding = _setup()
    now = start + timedelta(days=2, hours=12)
    window = source.window("", now, timedelta(hours=1), MIN)
    assert len(window) == 60  # all a fresh process has seen
    fc = binding.forecaster.forecast(binding.spec, window, now)
    assert fc is not None and "fell back" not in fc.note
    # built as backtest scores it: level keeps its own bands (registry.default_calibration)
    assert "conformal" not in fc.note
    history = binding.forecaster.groups["web"].history
    assert len(history) == 2 * 1440  # the whole window, from the source
    n = int((now - start) / MIN)
    np.testing.assert_array_equal(history, values[n - 2 * 1440 : n])


class DownForHistory(TraceSource):
    def query(self, query, start, end, step):  # type: ignore[no-untyped-def]
        raise SourceError("prometheus: connection refused")


def test_a_source_down_for_history_falls_back_to_what_the_ticks_saw() -> None:
    _, start, source, binding = _setup(DownForHistory)
    now = start + timedelta(days=1)
    fc = binding.forecaster.forecast(
        binding.spec, source.window("", now, timedelta(hours=1), MIN), now
    )
    assert fc is not None
    assert len(binding.forecaster.groups["web"].history) == 60
    assert binding.forecaster.history_failures == 1


def test_after_a_restart_a_young_stored_model_is_used_at_once(tmp_path) -> None:
    from autoscaler.forecasters.store import ModelStore

    _, start, source, first = _setup()
    first.forecaster.store = ModelStore(tmp_path / "models")
    fitted_at = start + timedelta(days=2)
    window = source.window("", fitted_at, timedelta(hours=1), MIN)
    assert first.forecaster.forecast(first.spec, window, fitted_at) is not None
    meta = first.forecaster.store.meta("web")
    # trained on the whole two-day window read from the source, not the last hour
    assert pd.Timestamp(meta.trained_from) == fitted_at - timedelta(days=2)
    assert pd.Timestamp(meta.trained_to) == window.end

    # a new process (same store): 20 minutes later, its first forecast is the stored model
    _, _, _, second = _setup()
    second.forecaster.store = ModelStore(tmp_path / "models")
    now = fitted_at + timedelta(minutes=20)
    fc = second.forecaster.forecast(
        second.spec, source.window("", now, timedelta(hours=1), MIN), now
    )
    assert fc is not None and "fell back" not in fc.note and fc.model == "level"
    assert second.forecaster.fits == 0 and second.forecaster.restore_failures == 0
    assert second.forecaster.model_age("web", now) == now - window.end

    # past its retrain period a stored model is not used: the process refits
    _, _, _, third = _setup()
    third.forecaster.store = ModelStore(tmp_path / "models")
    late = fitted_at + timedelta(hours=2)
    third.forecaster.forecast(third.spec, source.window("", late, timedelta(hours=1), MIN), late)
    assert third.forecaster.fits == 1
