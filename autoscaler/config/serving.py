"""The ``serving:`` section: a GPU inference serving scenario replayed from a request trace."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from autoscaler.config.base import FrozenModel, Span, Window


class WarmSetConfig(FrozenModel):
    """Which base models the idle replicas of a pool keep loaded (``warm_set.py``):
    ``lru`` switches the least recently used replica and never re-warms; ``popular``
    ranks models by arrivals decayed with ``half_life`` and re-warms a free replica to
    an unheld model scoring ``switch_ratio`` times its own model's share."""

    kind: Literal["lru", "popular"] = "lru"
    half_life: Window = timedelta(minutes=10)
    switch_ratio: float = Field(2.0, ge=1.0, le=1000.0)


class HostCacheConfig(FrozenModel):
    """A host-memory model cache per replica (``host_cache.py``): each replica keeps the
    last ``models`` base models it loaded; loading one of them draws from the measured
    loads under ``fast_below``, any other from those at or over it. ``models: 0`` draws
    every load from all the measured latencies. ``affinity``: an idle replica holding a
    waiting request's model in host memory is the one that switches to it. ``hosts``: see
    below."""

    models: int = Field(0, ge=0, le=100_000)
    fast_below: Window = timedelta(seconds=12)
    affinity: bool = True
    # GPU hosts whose memory outlives their replicas (a new replica goes to a free host
    # holding its model); 0: the host memory goes with the replica
    hosts: int = Field(0, ge=0, le=100_000)


class ServingConfig(FrozenModel):
    """Which requests, which cold starts, and how the base models are split into groups.

    Every group is a copy of the template group (``group``, default the first): the
    pooled layout's one group is the template itself; otherwise a dedicated group is
    named ``<group>-<model>`` and the shared pool ``<group>-pool``.
    """

    requests: str = "../shared/data/alibaba-genai-v2026/lora_request_trace.csv"
    load_latencies: str = "../shared/data/alibaba-genai-v2026/basemodel_update_latency_anon.csv"
    group: str | None = None
    # per_model: a group per base model; pooled: one group for all, with model affinity;
    # hybrid: the ``dedicated`` most requested models get their own group, the rest a pool.
    layout: Literal["per_model", "pooled", "hybrid"] = "pooled"
    dedicated: int = Field(10, ge=0, le=100_000)
    slo: Window = timedelta(seconds=60)  # p95 of queue wait + cold start
    arrival_speedup: float = Field(1.0, gt=0, le=1000)
    # idle groups (no replica, no request for a lookback) are evaluated this often, not
    # every interval; reactive policies then hold at zero, so this only saves time
    idle_tick: Window = timedelta(seconds=60)
    drain: Span = timedelta(hours=1)  # run on after the last arrival
    start_day: int = Field(
        0, ge=0, le=100_000
    )  # replay days [start_day, start_day + days) of the trace
    days: int | None = Field(None, ge=1, le=100_000)
    warm_set: WarmSetConfig = WarmSetConfig()
    host_cache: HostCacheConfig = HostCacheConfig()
    # a request whose model has a busy replica finishing within this waits for it rather
    # than switching an idle replica to its model (a cold start); 0s: never waits
    wait_for_warm: Span = timedelta(0)
    # the arrival rate qos reads: arrivals over this trailing window, rounded to whole
    # intervals of the group; 0s: each interval's own (one request in a 2 s bin reads as
    # 0.5 a second). Tried on the tuning days, not adopted (docs/genai-serving.md)
    rate_window: Span = timedelta(0)
    # the rate qos sizes on: arrivals (per interval, or over rate_window), or little:
    # requests in the group over the mean GPU time (Little's law; docs/genai-serving.md)
    qos_rate: Literal["arrivals", "little"] = "arrivals"
    # a measured latency for the policies (qos closes its fast loop on it): per interval,
    # the p95 wait of the requests that started in it, readable latency_delay after the
    # interval ends (a scrape's delay); off: qos infers its violations from the M/M/c model
    measured_latency: bool = False
    latency_delay: Span = timedelta(seconds=15)
    plot_day: int | None = Field(
        None, ge=0, le=100_000
    )  # day of the replay to plot (default: busiest)

    @model_validator(mode="after")
    def _rate_window_needs_arrivals(self) -> ServingConfig:
        # little reads the concurrency, already a mean over each interval: a window would
        # be ignored, and a setting that does nothing must not pass silently
        if self.qos_rate == "little" and self.rate_window > timedelta(0):
            raise ValueError("rate_window applies to qos_rate: arrivals only, not little")
        return self
