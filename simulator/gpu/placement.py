"""Placement policies: (pod request, cluster state, rng) -> node + GPU indices, or None.

Every policy first filters the nodes where the pod fits (CPU, memory, an allowed GPU
model, enough GPUs with room), then ranks them. Scores are integers 0..100 as in the
Kubernetes scheduling framework the FGD paper's simulator uses, and ties go to the
first node in fleet order, as in that simulator (its node names sort in list order).
Integer scores make ties common, so this rule is part of each policy's behaviour: it
packs CPU-only pods, which most policies score alike everywhere, onto the first nodes.
Policies never mutate the state; the caller binds the returned placement.

* ``random``: any feasible node; a random GPU with room for a GPU share.
* ``first_fit``: the lowest-numbered feasible node and GPU.
* ``best_fit``: least CPU and GPU left after placing (each normalised by the largest
  node, 128 cores / 8 GPUs, weighted half and half); tightest GPU for a share.
* ``dot_product``: Tetris-style alignment: least dot product of the node's free
  (CPU, GPU) vector, normalised by its capacity, with the pod's demand vector.
* ``gpu_packing``: prefer an already shared GPU, then idle GPUs on a used node, then
  an idle node (fewest GPUs first).
* ``gpu_clustering``: prefer nodes already running pods of the same GPU-request class.
* ``fgd``: fragmentation gradient descent: the node and GPU where the expected
  fragmentation (``fragmentation.py``) grows least, scored sigmoid(decrease/1000)*100.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from autoscaler.interfaces import GpuPlacementPolicy
from autoscaler.simulator.gpu.fleet import MILLI
from autoscaler.simulator.gpu.fragmentation import (
    TypicalPods,
    frag_after_share,
    node_frag,
    take_whole_gpus,
)
from autoscaler.simulator.gpu.state import ClusterState, Placement, affinity_tag

MAX_SPEC_CPU = 128_000
MAX_SPEC_GPU = 8_000
MAX_SCORE = 100


@dataclass(frozen=True, slots=True)
class PodRequest:
    """One pod's demand. ``models`` masks the fleet's GPU models it may use."""

    cpu: int
    mem: int
    num_gpu: int
    gpu_milli: int
    models: np.ndarray = field(compare=False)

    @property
    def is_share(self) -> bool:
        return self.num_gpu == 1 and self.gpu_milli < MILLI

    @property
    def total_gpu_milli(self) -> int:
        return self.num_gpu * self.gpu_milli


def feasible(req: PodRequest, state: ClusterState) -> np.ndarray:
    """Boolean mask of the nodes that can host ``req`` now."""
    ok = (state.cpu_left >= req.cpu) & (state.mem_left >= req.mem)
    if req.num_gpu == 0:
        return ok
    allowed = np.zeros(len(ok), dtype=bool)
    has_gpu = state.model_idx >= 0
    if len(req.models):
        allowed[has_gpu] = req.models[state.model_idx[has_gpu]]
    fit = (state.gpu_left >= req.gpu_milli).sum(axis=1) >= req.num_gpu
    return ok & allowed & fit


def _pick_max(scores: np.ndarray, mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return None
    return int(idx[np.argmax(scores[idx])])


def exclusive_gpus(state: ClusterState, node: int, count: int) -> tuple[int, ...]:
    """The first ``count`` idle GPUs of ``node``."""
    return tuple(int(g) for g in np.flatnonzero(state.gpu_left[node] >= MILLI)[:count])


def share_gpu_tightest(state: ClusterState, node: int, milli: int) -> tuple[int, ...]:
    """The GPU with the least room that still fits ``milli`` (lowest index on ties)."""
    left = state.gpu_left[node]
    cand = np.where(left >= milli, left, np.iinfo(np.int64).max)
    return (int(np.argmin(cand)),)


def _gpus(
    req: PodRequest, state: ClusterState, node: int, share_pick: Callable[..., tuple[int, ...]]
) -> tuple[int, ...]:
    if req.num_gpu == 0:
        return ()
    if req.is_share:
        return share_pick(state, node, req.gpu_milli)
    return exclusive_gpus(state, node, req.num_gpu)


class _ScoredPolicy:
    """Scores every node and takes the best feasible one (the lowest index on ties, as the
    reference simulator's scheduler does); a shared-GPU pod goes on that node's
    tightest-fitting GPU. Subclasses define ``scores``."""

    def scores(self, req: PodRequest, state: ClusterState) -> np.ndarray:
        raise NotImplementedError

    def place(
        self, req: PodRequest, state: ClusterState, rng: np.random.Generator
    ) -> Placement | None:
        node = _pick_max(self.scores(req, state), feasible(req, state))
        if node is None:
            return None
        return Placement(node, _gpus(req, state, node, share_gpu_tightest))


@dataclass(frozen=True)
class RandomPolicy:
    name: str = "random"

    def place(
        self, req: PodRequest, state: ClusterState, rng: np.random.Generator
    ) -> Placement | None:
        idx = np.flatnonzero(feasible(req, state))
        if len(idx) == 0:
            return None
        node = int(idx[rng.integers(len(idx))])

        def pick(st: ClusterState, n: int, milli: int) -> tuple[int, ...]:
            fits = np.flatnonzero(st.gpu_left[n] >= milli)
            return (int(fits[rng.integers(len(fits))]),)

        return Placement(node, _gpus(req, state, node, pick))


@dataclass(frozen=True)
class FirstFitPolicy:
    name: str = "first_fit"

    def place(
        self, req: PodRequest, state: ClusterState, rng: np.random.Generator
    ) -> Placement | None:
        idx = np.flatnonzero(feasible(req, state))
        if len(idx) == 0:
            return None
        node = int(idx[0])

        def pick(st: ClusterState, n: int, milli: int) -> tuple[int, ...]:
            return (int(np.flatnonzero(st.gpu_left[n] >= milli)[0]),)

        return Placement(node, _gpus(req, state, node, pick))


@dataclass(frozen=True)
class BestFitPolicy(_ScoredPolicy):
    name: str = "best_fit"

    def scores(self, req: PodRequest, state: ClusterState) -> np.ndarray:
        waste = (
            0.5 * (state.cpu_left - req.cpu) / MAX_SPEC_CPU
            + 0.5 * (state.gpu_left.sum(axis=1) - req.total_gpu_milli) / MAX_SPEC_GPU
        )
        scores = np.floor((1.0 - waste) * MAX_SCORE)
        return scores


@dataclass(frozen=True)
class DotProductPolicy(_ScoredPolicy):
    name: str = "dot_product"

    def scores(self, req: PodRequest, state: ClusterState) -> np.ndarray:
        cap_cpu = state.fleet.cpu_milli.astype(float)
        cap_gpu = np.maximum(state.gpu_cap.sum(axis=1), 1).astype(float)
        dot = (state.cpu_left / cap_cpu) * (req.cpu / cap_cpu) + (
            state.gpu_left.sum(axis=1) / cap_gpu
        ) * (req.total_gpu_milli / cap_gpu)
        scores = np.floor((1.0 - dot / 2) * MAX_SCORE)
        return scores


@dataclass(frozen=True)
class GpuPackingPolicy(_ScoredPolicy):
    name: str = "gpu_packing"

    def scores(self, req: PodRequest, state: ClusterState) -> np.ndarray:
        idle = (state.gpu_left >= MILLI) & (state.gpu_cap > 0)
        n_idle = idle.sum(axis=1)
        n_gpus = (state.gpu_cap > 0).sum(axis=1)
        if req.num_gpu == 0:
            scores = np.zeros(len(state.cpu_left))
        else:
            # GPUs the pod would take: the fullest ones with room (ascending free).
            cand = np.where(state.gpu_left >= req.gpu_milli, state.gpu_left, MILLI + 1)
            order = np.sort(cand, axis=1)[:, : req.num_gpu]
            idle_used = (order == MILLI).sum(axis=1)
            shared_free = np.where(order <= MILLI, order, 0).sum(axis=1) * 100 // MILLI
            s_idle_node = np.maximum(MAX_SCORE // 3 - n_idle, n_idle)
            s_used_node = np.maximum(MAX_SCORE // 2 - idle_used, MAX_SCORE // 3)
            s_shared = np.maximum(MAX_SCORE - shared_free // 10, MAX_SCORE // 2)
            scores = np.where(
                n_idle == n_gpus, s_idle_node, np.where(idle_used > 0, s_used_node, s_shared)
            )
        return scores


@dataclass(frozen=True)
class GpuClusteringPolicy(_ScoredPolicy):
    name: str = "gpu_clustering"

    def scores(self, req: PodRequest, state: ClusterState) -> np.ndarray:
        tag = affinity_tag(req.num_gpu, req.gpu_milli)
        if tag < 0:
            scores = np.zeros(len(state.cpu_left), dtype=np.int64)
        else:
            used = (MAX_SPEC_GPU - state.gpu_left.sum(axis=1)) * (MAX_SCORE // 4) // MAX_SPEC_GPU
            kinds = (state.tag_count > 0).sum(axis=1)
            same = state.tag_count[:, tag] > 0
            band = np.where(same, np.where(kinds == 1, 3, 2), np.where(kinds == 0, 1, 0))
            scores = used + band * (MAX_SCORE // 4)
        return scores


def _fgd_score(decrease: np.ndarray) -> np.ndarray:
    return np.floor(MAX_SCORE / (1.0 + np.exp(-decrease / 1000.0)))


class FgdPolicy:
    """Fragmentation gradient descent. Keeps a memo of each node's score per pod shape,
    refreshed only for nodes whose ``state.version`` changed since (results are the
    same as recomputing everything; this is what makes a 130 % run take seconds)."""

    name = "fgd"

    def __init__(self, typical: TypicalPods, memo: bool = True) -> None:
        self.typical = typical
        self.memo = memo  # False rescores every feasible node per pod (benchmark baseline)
        self._frag_version: np.ndarray | None = None
        self._frag: np.ndarray | None = None
        self._memo: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._state: ClusterState | None = None

    def _current_frag(self, state: ClusterState) -> np.ndarray:
        if self._state is not state or self._frag is None:
            self._state = state
            self._memo.clear()
            self._frag = node_frag(self.typical, state.cpu_left, state.gpu_left, state.model_idx)
            self._frag_version = state.version.copy()
            return self._frag
        stale = np.flatnonzero(self._frag_version != state.version)
        if len(stale):
            self._frag[stale] = node_frag(
                self.typical, state.cpu_left[stale], state.gpu_left[stale], state.model_idx[stale]
            )
            self._frag_version[stale] = state.version[stale]
        return self._frag

    def _scores(
        self, req: PodRequest, state: ClusterState, nodes: np.ndarray, frag: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        tp = self.typical
        cpu_left, gpu_left, models = (
            state.cpu_left[nodes],
            state.gpu_left[nodes],
            state.model_idx[nodes],
        )
        if req.is_share:
            after = frag_after_share(tp, cpu_left, gpu_left, models, req.cpu, req.gpu_milli)
            per_gpu = np.where(gpu_left >= req.gpu_milli, _fgd_score(frag[nodes, None] - after), -1)
            best = np.argmax(per_gpu, axis=1)
            return per_gpu[np.arange(len(nodes)), best], best
        if req.num_gpu > 0:
            gpu_left = np.where(take_whole_gpus(gpu_left, req.num_gpu), 0, gpu_left)
        after = node_frag(tp, cpu_left - req.cpu, gpu_left, models)
        return _fgd_score(frag[nodes] - after), np.zeros(len(nodes), dtype=np.int64)

    def place(
        self, req: PodRequest, state: ClusterState, rng: np.random.Generator
    ) -> Placement | None:
        mask = feasible(req, state)
        if not mask.any():
            return None
        frag = self._current_frag(state)
        key = (req.cpu, req.gpu_milli, req.num_gpu)
        n = state.fleet.size
        memo = self._memo.get(key)
        if memo is None:
            memo = (np.zeros(n), np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64))
            self._memo[key] = memo
        scores, best_gpu, seen = memo
        stale = np.flatnonzero(mask & (seen != state.version) if self.memo else mask)
        if len(stale):
            scores[stale], best_gpu[stale] = self._scores(req, state, stale, frag)
            seen[stale] = state.version[stale]
        node = _pick_max(scores, mask)
        assert node is not None
        if req.is_share:
            return Placement(node, (int(best_gpu[node]),))
        return Placement(node, exclusive_gpus(state, node, req.num_gpu))


POLICY_NAMES = (
    "random",
    "first_fit",
    "best_fit",
    "dot_product",
    "gpu_packing",
    "gpu_clustering",
    "fgd",
)


def make_policy(name: str, typical: TypicalPods | None = None) -> GpuPlacementPolicy:
    """The policy called ``name``; ``fgd`` needs the typical pods. Raises ValueError."""
    simple: dict[str, Callable[[], GpuPlacementPolicy]] = {
        "random": RandomPolicy,
        "first_fit": FirstFitPolicy,
        "best_fit": BestFitPolicy,
        "dot_product": DotProductPolicy,
        "gpu_packing": GpuPackingPolicy,
        "gpu_clustering": GpuClusteringPolicy,
    }
    if name == "fgd":
        if typical is None:
            raise ValueError("fgd needs the typical pod shapes")
        return FgdPolicy(typical)
    if name not in simple:
        raise ValueError(
            f"unknown placement policy {name!r} (choose from {', '.join(POLICY_NAMES)})"
        )
    return simple[name]()
