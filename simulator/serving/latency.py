"""The serving replay's measured latency, served as a metric (as ``latency_source`` is
for the plain simulator): what a policy closing its loop on latency reads.

One sample per interval (bin) of the group: the p95 of the waits (start of execution
minus arrival: queue wait plus cold start, what the SLO is on) of the group's requests
that *started* in that bin, plus ``offset``; NaN when none started. A request's wait is
known, and a real server's histogram records it, when it starts, so a bin's sample is
final once the bin is over; it becomes readable ``delay`` after the bin ends (a
scrape). A request still waiting is not seen until it starts, as in a real histogram.

Why per bin and not a trailing window of requests: the engine hands the policy every
sample new since its last decision, and qos counts each one over the SLO as a
violation; samples of disjoint bins count each request once, where overlapping windows
would count one slow request in every window holding it. At a few requests a bin most
samples are one or two requests' waits, so a violation rate of samples is close to one
of requests. ``offset`` puts the wait on the scale of the SLO the policy checks (qos on
the arrival rate checks a response time: the wait's SLO plus the service's allowance).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.source import StepSamples


class ServingLatencySource(StepSamples):
    """One group's measured p95 wait per bin (seconds)."""

    def __init__(
        self, cluster: ServingCluster, group: str, delay: float, offset: float = 0.0
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must not be negative, not {delay}")
        self.cluster = cluster
        self.group = cluster.index[group]
        self.delay = delay
        self.offset = offset
        self.start = cluster.start
        self.step = timedelta(seconds=cluster.bin_seconds)
        self.values = np.full(len(cluster.arrivals[self.group]), np.nan)
        self._done = 0  # bins whose sample is computed
        self._cursor = 0  # into cluster.start_order
        self._arrival = cluster.trace.arrival
        self._group_of = cluster.req_group

    def _visible(self, end: datetime) -> int:
        """The number of bins readable at ``end`` (and over in the cluster's time),
        computing the new ones."""
        c = self.cluster
        w = c.bin_seconds
        # never a bin the cluster has not run past: its starts are not all known yet
        until = min(c.seconds(end) - self.delay, c.t)
        hi = max(0, min(len(self.values), int(until // w)))
        if hi <= self._done:
            return hi
        order, started, limit = c.start_order, c.started, hi * w
        waits: dict[int, list[float]] = {}
        i = self._cursor
        while i < len(order):
            r = order[i]
            t = started[r]
            if t >= limit:
                break
            if self._group_of[r] == self.group:
                waits.setdefault(int(t // w), []).append(t - self._arrival[r])
            i += 1
        self._cursor = i
        for k, v in waits.items():
            self.values[k] = (v[0] if len(v) == 1 else float(np.percentile(v, 95))) + self.offset
        self._done = hi
        return hi
