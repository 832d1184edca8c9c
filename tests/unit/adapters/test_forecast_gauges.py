from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from autoscaler.adapters.forecast_export import PrometheusForecastGauges
from autoscaler.model import Forecast

INDEX = pd.date_range("2026-01-01", periods=3, freq="1min", tz="UTC")
FORECAST = Forecast(INDEX, np.array([100.0, 200.0, 300.0]), {0.9: np.array([150.0, 260.0, 390.0])})


def test_gauges_show_the_chosen_step_in_a_fresh_registry() -> None:
    registry = CollectorRegistry()
    gauges = PrometheusForecastGauges(registry)
    gauges.publish("web", FORECAST, ahead=2, instances=4, capacity=100.0)
    get = registry.get_sample_value
    assert get("autoscaler_forecast_load_mean", {"group": "web"}) == 200.0
    assert get("autoscaler_forecast_load", {"group": "web", "quantile": "0.9"}) == 260.0
    assert get("autoscaler_forecast_utilization", {"group": "web", "quantile": "0.9"}) == 0.65
    text = generate_latest(registry).decode()
    assert 'autoscaler_forecast_utilization_mean{group="web"} 0.5' in text
    assert 'quantile="mean"' not in text, "the quantile label holds probabilities only"


def test_no_instances_means_infinite_utilization_and_bad_steps_are_refused() -> None:
    registry = CollectorRegistry()
    gauges = PrometheusForecastGauges(registry)
    gauges.publish("web", FORECAST, ahead=1, instances=0, capacity=100.0)
    value = registry.get_sample_value("autoscaler_forecast_utilization_mean", {"group": "web"})
    assert value is not None and math.isinf(value)
    with pytest.raises(ValueError, match="cannot publish step 4"):
        gauges.publish("web", FORECAST, ahead=4, instances=1, capacity=1.0)
