"""Paths and settings shared by the forecaster tests (imported by name: no clash with conftest)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
NAB_CPU = DATA / "nab" / "realAWSCloudwatch" / "ec2_cpu_utilization_5f5533.csv"
NASA = DATA / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
STEP = timedelta(minutes=5)

# Small settings for the neural models: the contract, not the accuracy, is under test here.
FAST_PARAMS: dict[str, dict] = {
    "mlp": {"hidden": 8, "max_epochs": 3, "lookback": 12, "output": 12},
    "lstm": {"hidden": 4, "max_epochs": 2, "lookback": 6, "output": 12},
    "ensemble": {"members": ("naive", "seasonal_naive", "ets"), "eval_origins": 3},
    "auto": {"members": ("naive", "seasonal_naive", "arima"), "eval_origins": 3},
}
