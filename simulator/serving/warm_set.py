"""The warm-set policy of a pool: which base models its idle replicas keep loaded.

A pooled replica holds one model; a request for a model no idle replica holds waits for
a cold start. The policy answers four questions, as pure functions of values the cluster
passes in (no clock, no state of its own):

* ``victim``: an idle replica must switch to a waiting request's model: which one;
* ``removal_order``: the group scales in: which idle replicas go first;
* ``rewarm``: a replica has just become free and nobody waits: keep its model, or load
  a more wanted one nobody holds (a cold start paid while the replica would idle);
* ``new_model``: a new replica, with nobody waiting: which model to load.

``lru`` is the plain rule (least recently used goes first, never re-warm, new replicas
load the most requested model per replica holding it). ``popular`` ranks models by their
arrivals decayed with ``half_life`` (``ModelScores``): an idle replica's worth is its
model's score shared among the idle replicas holding it; the least worth goes first, and
a free replica re-warms to the best model held by no idle or loading replica when that
model's score is at least ``switch_ratio`` times its own worth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np


class Idle(Protocol):
    """What the policy reads of an idle replica (the cluster passes its replicas)."""

    @property
    def model(self) -> int: ...

    @property
    def last_used(self) -> float: ...


@dataclass(frozen=True)
class IdleReplica:
    """What the policy sees of an idle replica: its model and when it last served."""

    model: int
    last_used: float


@dataclass(frozen=True)
class WarmSetPolicy:
    kind: Literal["lru", "popular"] = "popular"
    half_life_seconds: float = 600.0
    switch_ratio: float = 2.0

    def __post_init__(self) -> None:
        if self.kind not in ("lru", "popular"):
            raise ValueError(f"warm set kind must be lru or popular, not {self.kind!r}")
        if not self.half_life_seconds > 0:
            raise ValueError(f"warm set half-life must be positive, not {self.half_life_seconds}")
        if not self.switch_ratio >= 1:
            raise ValueError(f"warm set switch ratio must be at least 1, not {self.switch_ratio}")

    @property
    def rewarms(self) -> bool:
        """Whether ``rewarm`` can ever move a free replica (``lru`` never does)."""
        return self.kind != "lru"

    @property
    def decay_seconds(self) -> float:
        """The half-life the scores decay with (``lru`` counts every arrival for ever)."""
        return math.inf if self.kind == "lru" else self.half_life_seconds

    def removal_order(self, idle: Sequence[Idle], scores: np.ndarray) -> list[int]:
        """Indexes into ``idle``, the first to switch or to remove first."""
        if self.kind == "lru":
            return sorted(range(len(idle)), key=lambda i: (idle[i].last_used, i))
        count: dict[int, int] = {}
        for r in idle:
            count[r.model] = count.get(r.model, 0) + 1
        return sorted(
            range(len(idle)),
            key=lambda i: (scores[idle[i].model] / count[idle[i].model], idle[i].last_used, i),
        )

    def victim(self, idle: Sequence[Idle], scores: np.ndarray) -> int | None:
        """The idle replica (an index into ``idle``) to switch; None when there is none."""
        if not idle:
            return None
        if self.kind == "lru":  # removal_order's first, without the sort
            return min(range(len(idle)), key=lambda i: idle[i].last_used)
        return self.removal_order(idle, scores)[0]

    def rewarm(
        self,
        own: int,
        warm: Mapping[int, int],
        models: Sequence[int],
        scores: np.ndarray,
    ) -> int | None:
        """The model a free replica holding ``own`` should load instead, or None to keep
        it. ``warm[m]``: the other idle or loading replicas holding or loading ``m``."""
        if self.kind == "lru":
            return None
        worth = scores[own] / (1 + warm.get(own, 0))
        best, best_score = None, 0.0
        for m in models:
            if m != own and not warm.get(m, 0) and scores[m] > best_score:
                best, best_score = m, float(scores[m])
        if best is not None and best_score >= self.switch_ratio * worth and best_score > 0:
            return best
        return None

    def new_model(
        self, models: Sequence[int], held: Mapping[int, int] | np.ndarray, scores: np.ndarray
    ) -> int:
        """The model a new replica loads: the best score per replica already holding it.
        ``held``: replicas per model, as a mapping or an array indexed by model."""
        ms = np.asarray(models, dtype=np.int64)
        if isinstance(held, np.ndarray):
            count = held[ms]
        else:
            count = np.asarray([held.get(int(m), 0) for m in models], dtype=np.int64)
        per = scores[ms] / (1 + count)
        return int(ms[per == per.max()].min())  # a tie goes to the lowest-numbered model


class ModelScores:
    """Arrivals per model, decayed with a half-life (``inf``: plain counts)."""

    def __init__(self, n_models: int, half_life_seconds: float) -> None:
        self.value = np.zeros(n_models)
        self.since = np.zeros(n_models)
        self.rate = 0.0 if math.isinf(half_life_seconds) else math.log(2) / half_life_seconds

    def bump(self, model: int, t: float) -> None:
        if self.rate == 0.0:  # plain counts (``at`` reads ``value`` alone)
            self.value[model] += 1
            return
        self.value[model] = self.value[model] * math.exp(-self.rate * (t - self.since[model])) + 1
        self.since[model] = t

    def at(self, t: float) -> np.ndarray:
        if self.rate == 0.0:
            return self.value
        return self.value * np.exp(-self.rate * (t - self.since))
