"""Cold-start draws, with an optional host-memory model cache per replica.

The measured base-model load latencies are bimodal: about a third of them take 1-12 s
(median 2.9 s) and the rest 12-79 s (median 34.8 s), with almost nothing in between
(73 of 7,531 loads in 10-15 s). A fast load is far more likely soon after the same
container's previous load (60 % within a minute, 20-30 % after ten minutes or more),
which is what a model kept in the host's memory (or page cache) and copied to the GPU
looks like, against one read from storage.

``HostCache(models=0)``, the plain model, draws every load from all the measured
latencies, whatever the replica held before. With ``models = K > 0`` each replica keeps
the last ``K`` distinct base models it loaded (the one on its GPU included) in host
memory: loading one of them draws from the fast mode (the latencies under
``fast_below``), any other model, and every model on a new replica, from the slow mode. The host memory outlives the replica when the cluster has ``hosts``
GPU hosts: a removed replica's host keeps its cache, and a new replica goes to a free
host holding its model when there is one, else to the host freed the longest ago (a
replica beyond ``hosts`` gets an empty host). A load counts as cached from its start, so
one cut short by a scale-in leaves its model in the host's cache (a simplification). With
``affinity``, a request that needs an idle replica to switch
takes one holding its model in host memory when there is one (the cluster's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BATCH = 4096


@dataclass(frozen=True)
class HostCache:
    models: int = 0  # base models a replica keeps in host memory (0: no cache model)
    fast_below: float = 12.0  # seconds: the measured loads under this are host-memory loads
    affinity: bool = True  # an idle replica holding the model in host memory switches first
    hosts: int = 0  # GPU hosts whose memory outlives their replicas (0: it goes with them)

    def __post_init__(self) -> None:
        if self.models < 0:
            raise ValueError(f"host cache models must be >= 0, not {self.models}")
        if self.hosts < 0:
            raise ValueError(f"host cache hosts must be >= 0, not {self.hosts}")
        if not self.fast_below > 0:
            raise ValueError(f"host cache fast_below must be positive, not {self.fast_below}")


class _Draws:
    """Seeded draws, with replacement, from one set of latencies (a batch at a time)."""

    def __init__(self, values: np.ndarray, rng: np.random.Generator) -> None:
        self.values = values
        self.rng = rng
        self.left: list[float] = []

    def pop(self) -> float:
        if not self.left:
            self.left = list(self.rng.choice(self.values, size=_BATCH)[::-1])
        return self.left.pop()


class LoadTimes:
    """How long each load takes; ``draw`` also updates the replica's host cache."""

    def __init__(self, latencies: np.ndarray, cache: HostCache, rng: np.random.Generator) -> None:
        lat = np.asarray(latencies, dtype=float)
        self.cache = cache
        self.size = cache.models
        # the caches of the hosts with no replica, the longest free first
        self.free: list[list[int]] = [[] for _ in range(cache.hosts)] if self.size else []
        if self.size == 0:
            self.all = _Draws(lat, rng)
            return
        fast, slow = lat[lat < cache.fast_below], lat[lat >= cache.fast_below]
        if not len(fast) or not len(slow):
            raise ValueError(
                f"host cache: fast_below {cache.fast_below:g} s leaves no measured load "
                f"{'under' if not len(fast) else 'at or over'} it"
            )
        self.fast, self.slow = _Draws(fast, rng), _Draws(slow, rng)

    def draw(self, held: list[int], model: int) -> tuple[float, bool]:
        """(seconds, from host memory) of loading ``model`` on a replica whose host cache
        is ``held`` (oldest first; updated in place: ``model`` becomes the newest)."""
        if self.size == 0:
            return self.all.pop(), False
        hit = model in held
        if hit:
            held.remove(model)
        held.append(model)
        if len(held) > self.size:
            del held[0]
        return (self.fast.pop() if hit else self.slow.pop()), hit

    def host_for(self, model: int) -> list[int]:
        """The host cache of a new replica that will load ``model``: a free host's that
        holds it, else the one freed the longest ago, else an empty one."""
        for i, held in enumerate(self.free):
            if model in held:
                return self.free.pop(i)
        return self.free.pop(0) if self.free else []

    def release(self, held: list[int]) -> None:
        """A replica's host is free again (its cache kept, when the cluster has hosts)."""
        if self.cache.hosts and len(self.free) < self.cache.hosts:
            self.free.append(held)
