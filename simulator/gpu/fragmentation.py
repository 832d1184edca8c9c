"""GPU fragmentation as the FGD paper (Weng et al., ATC'23) measures it.

A node's idle GPU capacity is *fragmented for a pod shape* when that shape cannot use
it: the shape asks for no GPU, the GPU model is not allowed, or the node lacks CPU or
enough GPUs with room. When the shape does fit, only the GPUs with less room than one
of its per-GPU requests are fragments. The node's fragmentation is the expectation of
that amount over the *typical pods*: the most common request shapes of the workload
(covering 95 % of its pods), weighted by popularity. Memory is not part of the measure
(as in the paper). All amounts are milli-GPU.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from autoscaler.simulator.gpu.pods import PodTable

POPULARITY_THRESHOLD = 0.95


@dataclass(frozen=True, slots=True, eq=False)
class TypicalPods:
    """K request shapes and their weights (sum 1). ``model_ok[k, m]``: shape k may run
    on GPU model m (fleet model index)."""

    cpu: np.ndarray
    milli: np.ndarray
    count: np.ndarray
    model_ok: np.ndarray
    weight: np.ndarray


def model_mask(spec: tuple[str, ...], models: tuple[str, ...]) -> np.ndarray:
    """Boolean mask over ``models`` allowed by ``spec`` (empty spec: all)."""
    if not spec:
        return np.ones(len(models), dtype=bool)
    return np.array([m in spec for m in models], dtype=bool)


def typical_pods(
    pods: PodTable, models: tuple[str, ...], threshold: float = POPULARITY_THRESHOLD
) -> TypicalPods:
    """The most popular request shapes covering ``threshold`` of ``pods``, renormalised.
    Ties in popularity are broken by the shape itself so the result is deterministic.
    Raises ValueError for an empty table."""
    if len(pods) == 0:
        raise ValueError("no pods to derive typical pod shapes from")
    counts = Counter(
        (int(c), int(m), int(n), spec)
        for c, m, n, spec in zip(
            pods.cpu_milli, pods.gpu_milli, pods.num_gpu, pods.gpu_spec, strict=True
        )
    )
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = len(pods)
    chosen, cum = [], 0
    for shape, n in ranked:
        if cum >= threshold * total:
            break
        chosen.append((shape, n))
        cum += n
    weight = np.array([n for _, n in chosen], dtype=float)
    return TypicalPods(
        cpu=np.array([s[0] for s, _ in chosen], dtype=np.int64),
        milli=np.array([s[1] for s, _ in chosen], dtype=np.int64),
        count=np.array([s[2] for s, _ in chosen], dtype=np.int64),
        model_ok=np.array([model_mask(s[3], models) for s, _ in chosen], dtype=bool).reshape(
            len(chosen), len(models)
        ),
        weight=weight / weight.sum(),
    )


def _access(tp: TypicalPods, model_idx: np.ndarray) -> np.ndarray:
    """(d, K): typical shape k may use the GPUs of node d (False for GPU-less nodes)."""
    if tp.model_ok.shape[1] == 0:
        return np.zeros((len(model_idx), len(tp.cpu)), dtype=bool)
    ok = tp.model_ok[:, np.maximum(model_idx, 0)].T
    return ok & (model_idx >= 0)[:, None]


def _frag_from_counts(
    tp: TypicalPods,
    cpu_left: np.ndarray,
    gpu_total: np.ndarray,
    fit_count: np.ndarray,
    small_sum: np.ndarray,
    access: np.ndarray,
) -> np.ndarray:
    """Expected fragmentation from per-shape counts. Leading dims broadcast; the last
    axis of ``fit_count``/``small_sum``/``access`` is the shape axis K."""
    satisfied = (tp.milli > 0) & access & (fit_count >= tp.count) & (cpu_left[..., None] >= tp.cpu)
    per_shape = np.where(satisfied, small_sum, gpu_total[..., None])
    return per_shape @ tp.weight


def node_frag(
    tp: TypicalPods, cpu_left: np.ndarray, gpu_left: np.ndarray, model_idx: np.ndarray
) -> np.ndarray:
    """Fragmentation (milli-GPU) of each node given its free CPU ``(d,)``, free GPU
    ``(d, G)`` and model index ``(d,)``. Nodes without GPUs have 0."""
    fits = gpu_left[:, :, None] >= tp.milli[None, None, :]
    fit_count = fits.sum(axis=1)
    small_sum = np.where(fits, 0, gpu_left[:, :, None]).sum(axis=1)
    return _frag_from_counts(
        tp, cpu_left, gpu_left.sum(axis=1), fit_count, small_sum, _access(tp, model_idx)
    )


def frag_after_share(
    tp: TypicalPods,
    cpu_left: np.ndarray,
    gpu_left: np.ndarray,
    model_idx: np.ndarray,
    cpu: int,
    milli: int,
) -> np.ndarray:
    """(d, G): node fragmentation after a pod of ``cpu`` and ``milli`` (< 1000) of one
    GPU is put on GPU g of each node (computed incrementally from the per-shape counts;
    entries for GPUs without room are meaningless and must be masked by the caller)."""
    fits = gpu_left[:, :, None] >= tp.milli
    fit_count = fits.sum(axis=1)
    small_sum = np.where(fits, 0, gpu_left[:, :, None]).sum(axis=1)
    after = gpu_left - milli
    fits_after = after[:, :, None] >= tp.milli
    count2 = fit_count[:, None, :] - fits + fits_after
    small2 = (
        small_sum[:, None, :]
        - np.where(fits, 0, gpu_left[:, :, None])
        + np.where(fits_after, 0, after[:, :, None])
    )
    total2 = gpu_left.sum(axis=1) - milli
    access = _access(tp, model_idx)[:, None, :]
    cpu2 = np.broadcast_to((cpu_left - cpu)[:, None], after.shape)
    total2 = np.broadcast_to(total2[:, None], after.shape)
    return _frag_from_counts(tp, cpu2, total2, count2, small2, access)


def take_whole_gpus(gpu_left: np.ndarray, count: int) -> np.ndarray:
    """(d, G) mask of the first ``count`` idle GPUs of each node (the exclusive pick)."""
    idle = gpu_left >= 1000
    return idle & (np.cumsum(idle, axis=1) <= count)
