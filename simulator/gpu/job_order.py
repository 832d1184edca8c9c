"""Queue orders of the time mode: which waiting job goes first, and who may preempt whom.

* ``fifo``: arrival order. ``sjf``: shortest trace duration first: clairvoyant (it reads
  the job's true remaining work), kept as a bound. ``priority``: QoS class (LS and
  Guaranteed, then Burstable, then BE), FIFO within a class; only BE may be preempted.
* ``tiresias`` (Gu et al., NSDI'19, discretised 2D-LAS): a job's priority is the queue
  its 2D attained service (GPUs x seconds run) falls in: queue k holds service in
  ``[T[k-1], T[k])``; FIFO by arrival within a queue. A job that waited longer than
  ``PROMOTE_KNOB`` times its last run is promoted to the top queue (its LAS service is
  reset), so no job starves. Non-clairvoyant.
* ``gittins`` (Tiresias' 2D-Gittins): the Gittins index of the job's attained service
  under the distribution of the 2D service of the jobs that *finished so far* (learned
  online, never the job's own duration), evaluated at attained service snapped down to a
  doubling grid (so it changes at known times). Highest index first; promoted jobs first.

The thresholds and the knob were set before any run (orders of magnitude around the
openb trace's median job, ~400 GPU-seconds), not tuned on the scored runs.
``key`` gives a tuple, smaller first; ``outranks`` compares the first element only, so
jobs in one LAS queue never preempt each other (no thrashing within a queue).
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from autoscaler.simulator.gpu.pods import QOS_PRIORITY
from autoscaler.simulator.gpu.time_jobs import TimeJob

SCHEDULERS = ("fifo", "sjf", "priority", "tiresias", "gittins")
CLAIRVOYANT = frozenset({"sjf"})
LAS_THRESHOLDS_GPU_S = (600.0, 3600.0, 36_000.0)
PROMOTE_KNOB = 4.0
GITTINS_GRID_GPU_S = tuple([0.0] + [60.0 * 2.0**k for k in range(22)])
GITTINS_MIN_SAMPLES = 10
_BE = QOS_PRIORITY["BE"]


class GittinsIndex:
    """Gittins index of attained service over the finished jobs' service, refitted when
    the sample count doubles and then every ``REFIT_EVERY`` samples."""

    REFIT_EVERY = 400

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.table = [1.0 / (1.0 + a) for a in GITTINS_GRID_GPU_S]  # LAS until samples
        self._next_refit = GITTINS_MIN_SAMPLES
        self.refits = 0

    def observe(self, service: float) -> bool:
        """Record one finished job's service; True when the index was refitted."""
        self.samples.append(service)
        if len(self.samples) < self._next_refit:
            return False
        n = len(self.samples)
        self._next_refit = min(2 * n, n + self.REFIT_EVERY)
        seen = np.asarray(self.samples)
        self.table = [gittins_at(seen, a) for a in GITTINS_GRID_GPU_S]
        self.refits += 1
        return True

    def index(self, attained: float) -> float:
        """Index at ``attained`` snapped down to the grid."""
        return self.table[max(_at_or_past(GITTINS_GRID_GPU_S, attained) - 1, 0)]


def gittins_at(samples: np.ndarray, attained: float) -> float:
    """max over quanta D of P(S - a <= D | S > a) / E[min(S - a, D) | S > a] for the
    empirical service ``samples``; 0 when no sample is above ``attained``."""
    rest = np.sort(samples[samples > attained]) - attained
    n = len(rest)
    if n == 0:
        return 0.0
    k = np.arange(1, n + 1)
    expected = (np.cumsum(rest) + (n - k) * rest) / n
    with np.errstate(divide="ignore"):
        ratio = np.where(expected > 0, (k / n) / np.maximum(expected, 1e-12), np.inf)
    return float(ratio.max())


def _at_or_past(marks: tuple[float, ...], value: float) -> int:
    """How many marks ``value`` has reached; a job booked at a mark may sit a rounding
    error below it, so it counts as there."""
    return bisect_right(marks, value * (1 + 1e-9) + 1e-6)


def _next_mark(marks: tuple[float, ...], value: float) -> float | None:
    k = _at_or_past(marks, value)
    return marks[k] if k < len(marks) else None


class JobOrder:
    """The key, the preemption rule and the priority-change times of one scheduler."""

    def __init__(self, scheduler: str, promote_knob: float = PROMOTE_KNOB) -> None:
        if scheduler not in SCHEDULERS:
            raise ValueError(
                f"unknown scheduler {scheduler!r} (choose from {', '.join(SCHEDULERS)})"
            )
        self.scheduler = scheduler
        self.promote_knob = promote_knob
        self.gittins = GittinsIndex() if scheduler == "gittins" else None

    @property
    def adaptive(self) -> bool:
        """Whether priorities change with attained service (LAS or Gittins)."""
        return self.scheduler in ("tiresias", "gittins")

    def primary(self, j: TimeJob) -> float:
        """The first element of ``key``; for LAS and Gittins cached on the job until its
        service or promotion changes (``TimeJob.touch``) or the index is refitted."""
        s = self.scheduler
        if s == "fifo":
            return 0.0
        if s == "sjf":
            return j.work_left
        if s == "priority":
            return float(j.prio)
        table = self.gittins.refits if self.gittins is not None else 0
        ver, at, value = j.pcache
        if ver == j.pver and at == table:
            return value
        if s == "tiresias":
            value = float(_at_or_past(LAS_THRESHOLDS_GPU_S, j.las))
        else:
            assert self.gittins is not None
            value = float("-inf") if j.promoted else -self.gittins.index(j.attained)
        j.pcache = (j.pver, table, value)
        return value

    def key(self, j: TimeJob) -> tuple[float, float, int]:
        return (self.primary(j), j.arrival, j.idx)

    def outranks(self, waiter: TimeJob, victim: TimeJob) -> bool:
        """Whether ``waiter`` may preempt ``victim`` (running) under this order."""
        if self.scheduler == "priority" and victim.prio != _BE:
            return False
        return self.primary(waiter) < self.primary(victim)

    def victim_rank(self, j: TimeJob) -> tuple[float, float, float]:
        """Sort key of running jobs, first evicted first: lowest priority, then the
        most attained service, then the latest started."""
        return (-self.primary(j), -j.attained, -j.run_start)

    def service_to_next_change(self, j: TimeJob) -> float | None:
        """GPU-seconds of service until ``j``'s priority next changes while running."""
        if self.scheduler == "tiresias":
            mark = _next_mark(LAS_THRESHOLDS_GPU_S, j.las)
            return None if mark is None else mark - j.las
        if self.scheduler == "gittins":
            mark = _next_mark(GITTINS_GRID_GPU_S, j.attained)
            return None if mark is None else mark - j.attained
        return None

    def promote_after(self, j: TimeJob) -> float | None:
        """Seconds of waiting after which ``j`` is promoted (None: never)."""
        if not self.adaptive or j.las <= 0 or j.last_run <= 0 or np.isinf(self.promote_knob):
            return None
        return self.promote_knob * j.last_run
