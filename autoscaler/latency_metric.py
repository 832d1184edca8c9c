"""The query that reads a group's measured p95 latency from its metric source."""

from __future__ import annotations

from autoscaler.config import LatencyMetricConfig
from autoscaler.durations import format_duration


def latency_query(cfg: LatencyMetricConfig, quantile: float = 0.95) -> str:
    """PromQL for the group's p95 in seconds. A histogram's ``_bucket`` selector becomes
    ``histogram_quantile`` of the per-bucket rates summed over every label but ``le``
    (all instances of the group together, as the SLO is about the group); a gauge is
    read as it is."""
    if cfg.kind == "gauge":
        return cfg.query
    window = format_duration(cfg.rate_window)
    return f"histogram_quantile({quantile:g}, sum by (le) (rate({cfg.query}[{window}])))"
