"""M/M/c (Erlang C) latency model: a group of ``c`` instances, each serving ``mu`` req/s.

Pure numpy, no I/O; used by the simulator to score steps and by SLO-driven policies to
size groups. Response time = queueing wait + service time. Everything is vectorised
over arrays of servers and arrival rates.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np


def erlang_c(servers: np.ndarray | int, offered: np.ndarray | float) -> np.ndarray:
    """Probability that an arrival waits, for ``servers`` and offered load ``lam/mu``.

    Uses the stable Erlang-B recursion. Returns 1.0 where ``offered >= servers`` (the
    queue is unstable) and 0.0 where ``offered == 0``; ``servers == 0`` gives 1.0.
    """
    c = np.asarray(servers, dtype=np.int64)
    a = np.asarray(offered, dtype=float)
    c, a = np.broadcast_arrays(c, a)
    b = np.ones(a.shape)
    cmax = int(c.max()) if c.size else 0
    for k in range(1, cmax + 1):
        active = k <= c
        nb = a * b / (k + a * b)
        b = np.where(active, nb, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        pw = c * b / (c - a * (1.0 - b))
    pw = np.where((a >= c) | (c == 0), 1.0, pw)
    pw = np.where(a <= 0, 0.0, pw)
    return np.clip(pw, 0.0, 1.0)


def sojourn_tail(t: np.ndarray, servers: np.ndarray, lam: np.ndarray, mu: float) -> np.ndarray:
    """P(response time > t) in a stable M/M/c FCFS queue.

    Wait is 0 with probability 1-C and Exp(c*mu - lam) otherwise; service is Exp(mu).
    """
    c = np.asarray(servers, dtype=float)
    lam = np.asarray(lam, dtype=float)
    pw = erlang_c(servers, lam / mu)
    theta = c * mu - lam
    es = np.exp(-mu * t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        diff = theta - mu
        conv = np.where(
            np.abs(diff) > 1e-9 * mu,
            (theta * es - mu * np.exp(-theta * t)) / diff,
            (1.0 + mu * t) * es,
        )
    return (1.0 - pw) * es + pw * conv


def response_quantile(
    servers: np.ndarray | int,
    lam: np.ndarray | float,
    mu: float,
    q: float = 0.95,
    *,
    cap: float = math.inf,
) -> np.ndarray:
    """The ``q`` quantile of response time (seconds) for each (servers, lam) pair.

    Unstable or empty groups (``lam >= servers * mu``, or no servers with load) give
    ``cap`` (infinity by default). ``lam == 0`` gives the service-time quantile.
    """
    c = np.atleast_1d(np.asarray(servers, dtype=np.int64))
    lam_a = np.atleast_1d(np.asarray(lam, dtype=float))
    c, lam_a = np.broadcast_arrays(c, lam_a)
    out = np.full(c.shape, cap, dtype=float)
    stable = (lam_a < c * mu) & (c > 0)
    if not stable.any():
        return out
    cs, ls = c[stable], lam_a[stable]
    theta = cs * mu - ls
    tail = -math.log(1.0 - q)
    lo = np.zeros(cs.shape)
    hi = 2.0 * math.log(2.0 / (1.0 - q)) * np.maximum(1.0 / mu, 1.0 / theta)
    hi = np.maximum(hi, tail / mu)
    target = 1.0 - q
    # 50 halvings shrink the bracket by 1e15, past double precision for these scales.
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        above = sojourn_tail(mid, cs, ls, mu) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out[stable] = np.minimum(hi, cap)
    return out


@dataclass(frozen=True)
class SloCapacity:
    """For each group size ``c``, the largest arrival rate whose ``q`` latency meets the SLO.

    ``required(lam)`` is then a binary search: the fewest instances that keep the
    latency quantile at or below ``slo_seconds``. Sizes above ``max_servers`` are not
    tabulated; ``required`` returns ``max_servers + 1`` when even that is not enough.
    """

    mu: float
    slo_seconds: float
    q: float
    max_servers: int
    lam_max: np.ndarray  # lam_max[c] for c = 0..max_servers
    _bounds: list[float] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A plain list for ``required_one``: bisect on it is far cheaper than numpy on
        # one number, and policies ask once or twice per decision.
        self._bounds.extend(float(x) for x in self.lam_max)

    @classmethod
    def build(cls, mu: float, slo_seconds: float, max_servers: int, q: float = 0.95) -> SloCapacity:
        if mu <= 0 or slo_seconds <= 0 or max_servers < 0:
            raise ValueError("mu, slo_seconds must be positive and max_servers non-negative")
        sizes = np.arange(max_servers + 1)
        lo = np.zeros(len(sizes))
        hi = sizes * mu * (1.0 - 1e-12)
        feasible_at_zero = -math.log(1.0 - q) / mu <= slo_seconds
        if not feasible_at_zero or max_servers == 0:
            # Even an idle instance's service time breaks the SLO: no size is enough.
            return cls(mu, slo_seconds, q, max_servers, np.zeros(len(sizes)))
        servers = np.maximum(sizes, 1)
        # The q latency meets the SLO exactly when P(response > SLO) <= 1 - q (the tail
        # falls with t), so each bisection step needs one tail, not a quantile search.
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            ok = sojourn_tail(np.full(len(sizes), slo_seconds), servers, mid, mu) <= 1.0 - q
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        lo[0] = 0.0
        return cls(mu, slo_seconds, q, max_servers, lo)

    def required(self, lam: np.ndarray | float) -> np.ndarray:
        """Fewest instances whose latency quantile meets the SLO at each arrival rate."""
        lam_a = np.asarray(lam, dtype=float)
        need = np.searchsorted(self.lam_max, lam_a, side="left")
        return np.where(lam_a <= 0, 0, need).astype(np.int64)

    def required_one(self, lam: float) -> int:
        """``required`` for one arrival rate (NaN counts as no load)."""
        if not lam > 0:
            return 0
        return bisect_left(self._bounds, lam)


@lru_cache(maxsize=64)
def slo_capacity(mu: float, slo_seconds: float, max_servers: int, q: float = 0.95) -> SloCapacity:
    """``SloCapacity.build``, cached: the simulator and the policies of one run share it."""
    return SloCapacity.build(mu, slo_seconds, max_servers, q)
