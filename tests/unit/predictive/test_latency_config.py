"""The latency metric a group may name: its config and the PromQL it becomes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autoscaler.config import ConfigError, LatencyMetricConfig, parse_config
from autoscaler.latency_metric import latency_query


def test_histogram_becomes_histogram_quantile_of_the_summed_bucket_rates() -> None:
    cfg = LatencyMetricConfig(
        kind="histogram",
        query='http_request_duration_seconds_bucket{job="web"}',
        rate_window=timedelta(minutes=5),
    )
    assert latency_query(cfg) == (
        "histogram_quantile(0.95, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{job="web"}[5m])))'
    )


def test_a_gauge_is_read_as_it_is() -> None:
    cfg = LatencyMetricConfig(query='web:p95_seconds{job="web"}')
    assert latency_query(cfg) == 'web:p95_seconds{job="web"}'


def _group(metric: dict) -> dict:
    return {"groups": [{"name": "web", "metric": metric}]}


def test_group_config_carries_the_latency_metric() -> None:
    cfg = parse_config(_group({"latency": {"kind": "histogram", "query": "h_bucket"}}))
    latency = cfg.groups[0].metric.latency
    assert latency is not None and latency.kind == "histogram"


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            {"source": "monasca", "query": "cpu", "latency": {"kind": "histogram", "query": "h"}},
            "histogram latency metric needs source prometheus",
        ),
        ({"latency": {"query": ""}}, "latency.query"),
        ({"latency": {"kind": "summary", "query": "x"}}, "latency.kind"),
    ],
)
def test_bad_latency_metric_is_a_config_error(metric: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_group(metric))
