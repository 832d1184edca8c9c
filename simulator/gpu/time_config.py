"""What one time-mode run is asked to do (``TimeConfig``) and what it measured (``TimeRun``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autoscaler.simulator.gpu.job_order import CLAIRVOYANT, PROMOTE_KNOB
from autoscaler.simulator.gpu.time_jobs import GroupStats


@dataclass(frozen=True, slots=True)
class TimeConfig:
    """One time-mode run. ``preemption=None`` means: on for ``priority`` only.
    Costs are seconds of pause charged to the job when it resumes (checkpoint and
    restore) or lands on its new node (migration). ``promote_knob``: tiresias/gittins
    promote a job that waited this many times its last run (``inf``: never)."""

    placement: str = "best_fit"
    scheduler: str = "fifo"
    preemption: bool | None = None
    preemption_cost_s: float = 30.0
    migration: bool = False
    migration_cost_s: float = 60.0
    arrival_speedup: float = 1.0
    allocation: str = "request"
    borrowing: bool = False
    promote_knob: float = PROMOTE_KNOB
    seed: int = 0

    @property
    def preempts(self) -> bool:
        return self.scheduler == "priority" if self.preemption is None else self.preemption

    @property
    def preempts_in_partition(self) -> bool:
        """Whether a job over its partition's quota may evict that partition's own jobs
        it outranks: for the schedulers whose preemption serves JCT (tiresias, gittins,
        sjf), not for ``priority``, whose LS-over-BE rule starved BE and LS alike when
        applied inside a partition too (x4: mean JCT 1.50x fifo, LS jobs 1.21x slower)."""
        return self.preempts and self.scheduler != "priority"

    @property
    def clairvoyant(self) -> bool:
        """Whether the scheduler reads the jobs' true durations (``sjf``)."""
        return self.scheduler in CLAIRVOYANT

    def label(self) -> str:
        parts = [self.scheduler + ("+preempt" if self.preempts else "")]
        parts.append("migration" if self.migration else "no-migration")
        tail = "/borrow" if self.borrowing else ""
        return f"{self.placement}/{'/'.join(parts)}/{self.allocation}{tail}"


@dataclass(frozen=True, slots=True, eq=False)
class TimeRun:
    """Results. ``jct``/``queueing_delay`` hold one value per finished pod (seconds),
    in finishing order, ``job_idx`` the pods' trace indices in that order;
    ``util_times``/``util_pct`` are the allocated-GPU step curve and ``frag_pct`` the
    FGD fragmentation (fragmented GPU, % of all GPUs) at the same times; means are
    time-weighted over the whole run; ``util_while_queued_pct`` only over the time
    some pod was waiting (None if none ever waited). ``by_class`` is keyed by QoS class,
    ``by_partition`` by tenant; ``partition_held`` is GPUs held per partition at each
    time (columns in ``partition_names`` order)."""

    config: TimeConfig
    jct: np.ndarray
    queueing_delay: np.ndarray
    finished: int
    unfinished: int
    preemptions: int
    migrations: int
    util_times: np.ndarray
    util_pct: np.ndarray
    mean_gpu_util_pct: float
    util_while_queued_pct: float | None
    wall_seconds: float
    frag_pct: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean_fragmentation_pct: float = 0.0
    mean_fragmentation_ratio_pct: float = 0.0
    makespan_s: float = 0.0
    by_class: dict[str, GroupStats] = field(default_factory=dict)
    by_partition: dict[str, GroupStats] = field(default_factory=dict)
    partition_names: tuple[str, ...] = ()
    partition_held: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    quota_returns: int = 0
    pause_seconds: float = 0.0
    gittins_refits: int = 0
    job_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    compactions: int = 0  # of ``migrations``: moves made to defragment while nothing waited
    reclaims: int = 0  # synergy: lent CPU/memory taken back so that another job fits
    cpu_seconds: float = 0.0  # CPU time of the run: wall time is unreliable on a busy host

    def jct_of(self, idx: int) -> float:
        """JCT of the pod at trace index ``idx`` (NaN if it did not finish)."""
        hit = np.flatnonzero(self.job_idx == idx)
        return float(self.jct[hit[0]]) if len(hit) else float("nan")

    def jct_stat(self, what: str) -> float:
        """``mean``, ``p50``, ``p95`` or ``p99`` of JCT (NaN when nothing finished)."""
        if len(self.jct) == 0:
            return float("nan")
        if what == "mean":
            return float(self.jct.mean())
        return float(np.percentile(self.jct, float(what[1:])))
