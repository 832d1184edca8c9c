"""Time-mode measures: the allocated-GPU, fragmentation and partition curves sampled
after every event time, and the per-class / per-tenant JCT and queueing delay.

Fragmentation is the FGD paper's measure as fragmentation mode reports it
(``fragmentation.py``: expected fragmented GPU over the workload's typical pods),
kept per node and recomputed only for the nodes that changed since the last sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autoscaler.simulator.gpu.fragmentation import TypicalPods, node_frag
from autoscaler.simulator.gpu.partitions import QuotaLedger
from autoscaler.simulator.gpu.state import ClusterState
from autoscaler.simulator.gpu.time_config import TimeConfig, TimeRun
from autoscaler.simulator.gpu.time_jobs import GroupStats, TimeJob


class Recorder:
    def __init__(self, state: ClusterState, typical: TypicalPods, ledger: QuotaLedger) -> None:
        self.state = state
        self.typical = typical
        self.ledger = ledger
        self.names = tuple(ledger.quota)
        self.node_frag = node_frag(typical, state.cpu_left, state.gpu_left, state.model_idx)
        self.seen = state.version.copy()
        self.memo: dict[tuple[int, int, bytes], float] = {}
        self.times: list[float] = []
        self.used: list[int] = []
        self.frag: list[float] = []
        self.queued: list[bool] = []
        self.held: list[list[int]] = []
        self.sample(0.0, False)

    def sample(self, now: float, queued: bool) -> None:
        st = self.state
        stale = np.flatnonzero(self.seen != st.version)
        for n in stale.tolist():
            # Nodes go back and forth between few states: memoise by content.
            key = (int(st.model_idx[n]), int(st.cpu_left[n]), st.gpu_left[n].tobytes())
            value = self.memo.get(key)
            if value is None:
                value = float(
                    node_frag(
                        self.typical,
                        st.cpu_left[n : n + 1],
                        st.gpu_left[n : n + 1],
                        st.model_idx[n : n + 1],
                    )[0]
                )
                self.memo[key] = value
            self.node_frag[n] = value
        self.seen[stale] = st.version[stale]
        self.times.append(now)
        self.used.append(st.used_gpu_milli)
        self.frag.append(float(self.node_frag.sum()))
        self.queued.append(queued)
        if self.names:
            self.held.append([self.ledger.held[n] for n in self.names])

    def result(
        self,
        cfg: TimeConfig,
        jobs: Sequence[TimeJob],
        finished: Sequence[TimeJob],
        counts: dict[str, int | float],
        wall: float,
    ) -> TimeRun:
        """The run's ``TimeRun`` (``counts``: preemptions, migrations, quota_returns,
        pause_seconds, gittins_refits; optional reclaims, cpu_seconds)."""
        cap = float(self.state.total_gpu_milli)
        t = np.array(self.times)
        u = np.array(self.used, dtype=float) / cap * 100
        f = np.array(self.frag) / cap * 100
        idle = cap - np.array(self.used, dtype=float)
        ratio = np.divide(np.array(self.frag), idle, out=np.zeros(len(t)), where=idle > 0) * 100
        dt = np.diff(t)
        span = float(dt.sum())

        def tmean(v: np.ndarray) -> float:
            return float((v[:-1] * dt).sum() / span) if span > 0 else 0.0

        waiting = np.array(self.queued[:-1]) & (dt > 0)
        busy = float((u[:-1] * dt)[waiting].sum() / dt[waiting].sum()) if waiting.any() else None
        jct = np.array([j.finish - j.arrival for j in finished if j.finish is not None])
        delay = np.array([(j.first_start or j.arrival) - j.arrival for j in finished])
        ends = [j.finish for j in finished if j.finish is not None]
        makespan = max(ends) - min(j.arrival for j in jobs) if ends else 0.0
        return TimeRun(
            config=cfg,
            jct=jct,
            queueing_delay=delay,
            finished=len(finished),
            unfinished=len(jobs) - len(finished),
            preemptions=int(counts["preemptions"]),
            migrations=int(counts["migrations"]),
            compactions=int(counts.get("compactions", 0)),
            util_times=t,
            util_pct=u,
            mean_gpu_util_pct=tmean(u),
            util_while_queued_pct=busy,
            wall_seconds=wall,
            frag_pct=f,
            mean_fragmentation_pct=tmean(f),
            mean_fragmentation_ratio_pct=tmean(ratio),
            makespan_s=float(makespan),
            by_class=_groups(finished, jct, delay, lambda j: j.qos),
            by_partition=_groups(finished, jct, delay, lambda j: j.partition),
            partition_names=self.names,
            partition_held=np.array(self.held, dtype=float).reshape(len(t), len(self.names)) / 1000,
            quota_returns=int(counts["quota_returns"]),
            pause_seconds=float(counts["pause_seconds"]),
            gittins_refits=int(counts["gittins_refits"]),
            job_idx=np.array([j.idx for j in finished], dtype=np.int64),
            reclaims=int(counts.get("reclaims", 0)),
            cpu_seconds=float(counts.get("cpu_seconds", 0.0)),
        )


def _groups(finished: Sequence[TimeJob], jct: np.ndarray, delay: np.ndarray, by) -> dict:
    names = np.array([str(by(j)) if by(j) is not None else "" for j in finished])
    out = {}
    for name in sorted(set(names.tolist()) - {""}):
        mask = names == name
        out[name] = GroupStats.of(jct[mask], delay[mask])
    return out
