"""Fragmentation mode (the FGD paper's experiment): pods arrive one by one and never
leave, until pods worth ``load_pct`` % of the cluster's GPU capacity were submitted.

The submission order is the trace shuffled with the run's seed; when the trace asks
for less than the target (the openb traces ask for ~98 % of their cluster), pods are
drawn from the trace uniformly with replacement (same seed) until the next one would
pass the target; when it asks for more, the shuffled order is cut there. A pod that
fits nowhere is dropped (never retried), as in the paper.

After every submission we record the submitted load, the allocated GPUs and the
cluster's fragmentation. Curves are reported per integer load x = 0..load_pct as the
mean over the submissions whose load rounds to x (the paper's "discrete" analysis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from autoscaler.simulator.gpu.fleet import MILLI, Fleet
from autoscaler.simulator.gpu.fragmentation import TypicalPods, model_mask, node_frag, typical_pods
from autoscaler.simulator.gpu.placement import PodRequest, make_policy
from autoscaler.simulator.gpu.pods import PodTable
from autoscaler.simulator.gpu.state import ClusterState


@dataclass(frozen=True, slots=True, eq=False)
class FragRun:
    """One policy x seed run. Curves are indexed by load x = 0..load_pct (NaN where no
    submission fell near x); GPU amounts in GPUs, the rest in %."""

    policy: str
    seed: int
    load_pct: int
    allocation_pct: np.ndarray
    fragmentation_pct: np.ndarray
    fragmentation_ratio_pct: np.ndarray
    unallocated_gpus_at_max_load: float
    fragmented_gpus_at_max_load: float
    submitted: int
    placed: int
    total_gpus: int
    wall_seconds: float


def submission_order(
    pods: PodTable, capacity_milli: int, load_pct: float, rng: np.random.Generator
) -> np.ndarray:
    """Indices into ``pods``: a seeded shuffle, cut or extended by sampling with
    replacement so the GPU asked for totals at most ``load_pct`` % of capacity."""
    target = capacity_milli * load_pct / 100.0
    demand = pods.total_gpu_milli
    order = rng.permutation(len(pods))
    cum = np.cumsum(demand[order])
    if cum[-1] > target:
        return order[: int(np.searchsorted(cum, target, side="right"))]
    if demand.max() == 0:
        return order
    extra: list[np.ndarray] = []
    total = float(cum[-1])
    mean = max(float(demand.mean()), 1.0)
    while True:
        draw = rng.integers(len(pods), size=int((target - total) / mean * 1.2) + 16)
        c = total + np.cumsum(demand[draw])
        stop = int(np.searchsorted(c, target, side="right"))
        extra.append(draw[:stop])
        if stop < len(draw):
            break
        total = float(c[-1])
    return np.concatenate([order, *extra])


def discretize(load_pct: np.ndarray, values: np.ndarray, max_x: int) -> np.ndarray:
    """Mean of ``values`` over samples whose load rounds (half to even) to each
    x = 0..max_x; falls back to the samples within x +- 1, then to the value at x - 1
    (NaN only before the first sample)."""
    bins = np.rint(load_pct).astype(np.int64)
    sums = np.bincount(np.clip(bins, 0, max_x + 1), weights=values, minlength=max_x + 2)
    counts = np.bincount(np.clip(bins, 0, max_x + 1), minlength=max_x + 2)
    out = np.full(max_x + 1, np.nan)
    for x in range(max_x + 1):
        if counts[x]:
            out[x] = sums[x] / counts[x]
        else:
            lo, hi = max(x - 1, 0), x + 2
            if counts[lo:hi].sum():
                out[x] = sums[lo:hi].sum() / counts[lo:hi].sum()
            elif x > 0:
                # Nothing submitted near x (coarse pods on a small fleet): the cluster
                # is as it was at the last submission.
                out[x] = out[x - 1]
    return out


def requests_for(pods: PodTable, models: tuple[str, ...]) -> list[PodRequest]:
    """One ``PodRequest`` per pod (GPU-model masks shared between equal specs)."""
    masks: dict[tuple[str, ...], np.ndarray] = {}
    out = []
    for i in range(len(pods)):
        spec = pods.gpu_spec[i]
        if spec not in masks:
            masks[spec] = model_mask(spec, models)
        out.append(
            PodRequest(
                int(pods.cpu_milli[i]),
                int(pods.memory_mib[i]),
                int(pods.num_gpu[i]),
                int(pods.gpu_milli[i]),
                masks[spec],
            )
        )
    return out


def run_fragmentation(
    fleet: Fleet,
    pods: PodTable,
    policy: str,
    seed: int,
    load_pct: int = 130,
    typical: TypicalPods | None = None,
) -> FragRun:
    """Replay ``pods`` onto an empty ``fleet`` with placement ``policy``. The typical
    pods (for ``fgd`` and the fragmentation measure) default to the trace's own.
    Raises ValueError for an unknown policy or a fleet without GPUs."""
    if fleet.total_gpus == 0:
        raise ValueError("fragmentation mode needs a fleet with GPUs")
    started = time.perf_counter()
    if typical is None:
        typical = typical_pods(pods, fleet.models)
    placer = make_policy(policy, typical)
    rng = np.random.default_rng(seed)
    state = ClusterState(fleet)
    order = submission_order(pods, state.total_gpu_milli, load_pct, rng)
    reqs = requests_for(pods, fleet.models)
    frag = node_frag(typical, state.cpu_left, state.gpu_left, state.model_idx)
    frag_total = float(frag.sum())
    n = len(order)
    arrived = np.empty(n)
    used = np.empty(n)
    frag_amount = np.empty(n)
    arrived_milli = used_milli = 0
    placed = 0
    for step, i in enumerate(order):
        req = reqs[i]
        arrived_milli += req.total_gpu_milli
        where = placer.place(req, state, rng)
        if where is not None:
            state.bind(where, req.cpu, req.mem, req.gpu_milli)
            used_milli += req.total_gpu_milli
            placed += 1
            node = where.node
            new = float(
                node_frag(
                    typical,
                    state.cpu_left[node : node + 1],
                    state.gpu_left[node : node + 1],
                    state.model_idx[node : node + 1],
                )[0]
            )
            frag_total += new - frag[node]
            frag[node] = new
        arrived[step] = arrived_milli
        used[step] = used_milli
        frag_amount[step] = frag_total
    cap = float(state.total_gpu_milli)
    load = arrived / cap * 100
    idle = cap - used
    ratio = np.divide(frag_amount, idle, out=np.zeros(n), where=idle > 0) * 100
    return FragRun(
        policy=policy,
        seed=seed,
        load_pct=load_pct,
        allocation_pct=discretize(load, used / cap * 100, load_pct),
        fragmentation_pct=discretize(load, frag_amount / cap * 100, load_pct),
        fragmentation_ratio_pct=discretize(load, ratio, load_pct),
        unallocated_gpus_at_max_load=float(idle[-1] / MILLI) if n else cap / MILLI,
        fragmented_gpus_at_max_load=float(frag_amount[-1] / MILLI) if n else 0.0,
        submitted=n,
        placed=placed,
        total_gpus=fleet.total_gpus,
        wall_seconds=time.perf_counter() - started,
    )
