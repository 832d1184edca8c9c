"""The ``serving:`` section: a GPU inference serving scenario replayed from a request trace."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from autoscaler.config.base import Duration, FrozenModel


class ServingConfig(FrozenModel):
    """Which requests, which cold starts, and how the base models are split into groups.

    Every group is a copy of the template group (``group``, default the first) named
    ``<group>-<model>`` (a dedicated group) or ``<group>-pool`` (the shared pool).
    """

    requests: str = "../shared/data/alibaba-genai-v2026/lora_request_trace.csv"
    load_latencies: str = "../shared/data/alibaba-genai-v2026/basemodel_update_latency_anon.csv"
    group: str | None = None
    # per_model: a group per base model; pooled: one group for all, with model affinity;
    # hybrid: the ``dedicated`` most requested models get their own group, the rest a pool.
    layout: Literal["per_model", "pooled", "hybrid"] = "hybrid"
    dedicated: int = Field(10, ge=0)
    slo: Duration = timedelta(seconds=60)  # p95 of queue wait + cold start
    arrival_speedup: float = Field(1.0, gt=0, le=1000)
    # idle groups (no replica, no request for a lookback) are evaluated this often, not
    # every interval; reactive policies then hold at zero, so this only saves time
    idle_tick: Duration = timedelta(seconds=60)
    drain: Duration = timedelta(hours=1)  # run on after the last arrival
    start_day: int = Field(0, ge=0)  # replay days [start_day, start_day + days) of the trace
    days: int | None = Field(None, ge=1)
    plot_day: int | None = Field(None, ge=0)  # day of the replay to plot (default: busiest)
