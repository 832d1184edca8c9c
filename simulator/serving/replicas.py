"""The serving cluster's state: a replica, and one group's replicas, queues and counters."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from autoscaler.simulator.serving.warm_set import ModelScores

LOADING, IDLE, BUSY = 0, 1, 2


@dataclass(slots=True, eq=False)
class Replica:
    id: str
    group: int
    created: float
    model: int
    state: int = LOADING
    first_load: bool = True
    last_used: float = 0.0
    load_start: float = 0.0  # when its current (or last) cold start began
    removed: bool = False
    draining: bool = False
    cache: list[int] = field(default_factory=list)  # host-memory models, oldest first
    finish: float = 0.0  # when its current (or last) request ends


@dataclass(eq=False)
class GroupState:
    name: str
    models: tuple[int, ...]
    bins: int
    bin_seconds: float
    live: list[Replica] = field(default_factory=list)
    idle: dict[int, list[Replica]] = field(default_factory=dict)
    queues: dict[int, deque[int]] = field(default_factory=dict)
    loading: dict[int, int] = field(default_factory=dict)  # model -> replicas loading it
    # model -> when its busy (not draining) replicas finish; kept only with wait_for_warm
    finishing: dict[int, list[float]] = field(default_factory=dict)
    in_system: int = 0
    booting: int = 0  # live replicas on their first load
    billed: int = 0  # live + draining replicas
    gpu_seconds: float = 0.0
    load_seconds: float = 0.0  # replica-seconds spent loading (cold starts, cut short too)
    exec_seconds: float = 0.0  # replica-seconds spent executing requests
    last_bill: float = 0.0
    last_flush: float = 0.0
    last_busy: float = -1e18
    cold_starts: int = 0
    launched: int = 0
    switches: int = 0
    cache_hits: int = 0  # loads from the host-memory cache (host_cache.py)
    seq: int = 0
    n_models: int = 0
    half_life: float = float("inf")
    concurrency: np.ndarray = field(init=False)
    model_array: np.ndarray = field(init=False)  # ``models`` as an array
    scores: ModelScores = field(init=False)

    def __post_init__(self) -> None:
        self.concurrency = np.zeros(self.bins)  # request-seconds in system per bin
        self.scores = ModelScores(self.n_models, self.half_life)
        self.model_array = np.asarray(self.models, dtype=np.int64)

    def covering(self, m: int, t: float, wait: float) -> int:
        """Replicas that will take a waiting request for model ``m``: those loading it and
        the busy ones holding it that finish within ``wait`` of ``t``."""
        n = self.loading.get(m, 0)
        if wait:
            n += sum(1 for f in self.finishing.get(m, ()) if f - t <= wait)
        return n

    def idle_list(self) -> list[Replica]:
        return [r for reps in self.idle.values() for r in reps]
