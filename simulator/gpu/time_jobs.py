"""One job (pod) of a time-mode replay, and the results of a run.

A job's ``work_left`` is seconds of trace-speed work; it runs at ``grant.rate`` (1 unless
an allocation mode gives it a Synergy profile), so it ends ``work_left / rate`` seconds
after its run starts. ``attained`` is Tiresias' 2D attained service, GPUs x seconds
run; ``las`` is the same but reset when the job is promoted against starvation.
``restore_s`` is the checkpoint/restore pause a preempted job owes when it next starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autoscaler.simulator.gpu.allocation import Grant
from autoscaler.simulator.gpu.placement import PodRequest
from autoscaler.simulator.gpu.state import Placement
from autoscaler.simulator.gpu.synergy_profiles import JobProfile


@dataclass(slots=True)
class TimeJob:
    idx: int
    req: PodRequest
    qos: str
    prio: int
    arrival: float
    work_left: float
    partition: str | None
    profile: JobProfile | None = None
    first_start: float | None = None
    placement: Placement | None = None
    held: Grant = field(default_factory=lambda: Grant(0, 0, 1.0))
    grant: Grant = field(default_factory=lambda: Grant(0, 0, 1.0))
    run_start: float = 0.0
    epoch: int = 0
    finish: float | None = None
    attained: float = 0.0
    las: float = 0.0
    last_run: float = 0.0
    promoted: bool = False
    waiting: bool = False
    qver: int = 0
    preempted: int = 0
    restore_s: float = 0.0
    pver: int = 0  # bumped whenever attained service or promotion changes
    pcache: tuple[int, int, float] = (-1, -1, 0.0)  # JobOrder's (pver, table, primary)

    def touch(self) -> None:
        """Mark the job's priority inputs as changed (see ``JobOrder.primary``)."""
        self.pver += 1

    @property
    def gpus(self) -> float:
        """GPUs held while running (a share counts as its fraction)."""
        return self.req.total_gpu_milli / 1000.0

    def account(self, now: float) -> None:
        """Book the work and service done since ``run_start`` and restart the clock
        at ``now`` (nothing is booked during a pause before ``run_start``)."""
        ran = now - self.run_start
        if ran <= 0:
            return
        self.pver += 1
        self.work_left = max(0.0, self.work_left - ran * self.grant.rate)
        self.attained += ran * self.gpus
        self.las += ran * self.gpus
        self.last_run += ran
        self.run_start = now


@dataclass(frozen=True, slots=True, eq=False)
class GroupStats:
    """JCT and queueing delay of the finished jobs of one class or tenant."""

    finished: int
    jct_mean: float
    jct_p95: float
    wait_mean: float
    wait_p95: float

    @staticmethod
    def of(jct: np.ndarray, wait: np.ndarray) -> GroupStats:
        if len(jct) == 0:
            nan = float("nan")
            return GroupStats(0, nan, nan, nan, nan)
        return GroupStats(
            len(jct),
            float(jct.mean()),
            float(np.percentile(jct, 95)),
            float(wait.mean()),
            float(np.percentile(wait, 95)),
        )
