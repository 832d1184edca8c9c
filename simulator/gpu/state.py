"""What is free on every node right now, as numpy arrays, with checked bind/release.

``gpu_left[n, g]`` is the free milli-GPU of GPU ``g`` on node ``n`` (1000 = idle); GPUs a
node does not have are padded with capacity 0, so they never fit anything. Every bind
is checked: it raises ``OvercommitError`` and changes nothing rather than overcommit
CPU, memory or any GPU. ``version[n]`` grows on every change to node ``n`` so that
placement policies can keep per-node caches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoscaler.simulator.gpu.fleet import MAX_GPUS_PER_NODE, MILLI, Fleet

N_TAGS = 5


def affinity_tag(num_gpu: int, gpu_milli: int) -> int:
    """Class of a GPU request: 0 share, 1 one GPU, 2 two, 3 four, 4 eight or other;
    -1 for CPU-only pods (they carry no GPU affinity)."""
    if num_gpu == 0:
        return -1
    if gpu_milli < MILLI:
        return 0
    return {1: 1, 2: 2, 4: 3}.get(num_gpu, 4)


class OvercommitError(RuntimeError):
    """A bind would exceed a node's CPU, memory or a GPU's capacity (a bug in the caller)."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one pod runs: a node and the GPU indices it uses (empty for CPU-only)."""

    node: int
    gpus: tuple[int, ...]


class ClusterState:
    """Free resources of a fleet; starts empty (everything free)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        n = fleet.size
        self.cpu_left = fleet.cpu_milli.copy()
        self.mem_left = fleet.memory_mib.copy()
        slots = np.arange(MAX_GPUS_PER_NODE)[None, :]
        self.gpu_cap = np.where(slots < fleet.gpus[:, None], MILLI, 0).astype(np.int64)
        self.gpu_left = self.gpu_cap.copy()
        self.model_idx = fleet.model_idx
        self.version = np.zeros(n, dtype=np.int64)
        # Running pods per GPU-request class (see ``affinity_tag``), for gpu_clustering.
        self.tag_count = np.zeros((n, N_TAGS), dtype=np.int64)
        self.total_gpu_milli = int(self.gpu_cap.sum())
        # The same free amounts as Python lists, for checks of one node at a time
        # (indexing numpy arrays one element at a time is several times slower).
        self.cpu_list: list[int] = self.cpu_left.tolist()
        self.mem_list: list[int] = self.mem_left.tolist()
        self.gpu_lists: list[list[int]] = self.gpu_left.tolist()
        self.model_list: list[int] = np.asarray(self.model_idx).tolist()

    @property
    def used_gpu_milli(self) -> int:
        return self.total_gpu_milli - int(self.gpu_left.sum())

    def bind(self, p: Placement, cpu: int, mem: int, gpu_milli: int) -> None:
        """Take ``cpu``/``mem`` and ``gpu_milli`` on each GPU in ``p.gpus``.
        Raises ``OvercommitError`` (nothing changed) when it does not fit."""
        n = p.node
        if self.cpu_left[n] < cpu or self.mem_left[n] < mem:
            raise OvercommitError(f"node {n}: CPU/memory would be overcommitted")
        if len(set(p.gpus)) != len(p.gpus):
            raise OvercommitError(f"node {n}: a GPU listed twice in {p.gpus}")
        for g in p.gpus:
            if not 0 <= g < MAX_GPUS_PER_NODE or self.gpu_left[n, g] < gpu_milli:
                raise OvercommitError(f"node {n}: GPU {g} would be overcommitted")
        self.cpu_left[n] -= cpu
        self.mem_left[n] -= mem
        self.cpu_list[n] -= cpu
        self.mem_list[n] -= mem
        row = self.gpu_lists[n]
        for g in p.gpus:
            self.gpu_left[n, g] -= gpu_milli
            row[g] -= gpu_milli
        tag = affinity_tag(len(p.gpus), gpu_milli)
        if tag >= 0:
            self.tag_count[n, tag] += 1
        self.version[n] += 1

    def release(self, p: Placement, cpu: int, mem: int, gpu_milli: int) -> None:
        """Give back what ``bind`` took. Raises ``OvercommitError`` if it was never taken."""
        n = p.node
        if (
            self.cpu_left[n] + cpu > self.fleet.cpu_milli[n]
            or self.mem_left[n] + mem > self.fleet.memory_mib[n]
            or any(self.gpu_left[n, g] + gpu_milli > self.gpu_cap[n, g] for g in p.gpus)
        ):
            raise OvercommitError(f"node {n}: releasing more than was bound")
        self.cpu_left[n] += cpu
        self.mem_left[n] += mem
        self.cpu_list[n] += cpu
        self.mem_list[n] += mem
        row = self.gpu_lists[n]
        for g in p.gpus:
            self.gpu_left[n, g] += gpu_milli
            row[g] += gpu_milli
        tag = affinity_tag(len(p.gpus), gpu_milli)
        if tag >= 0:
            self.tag_count[n, tag] -= 1
        self.version[n] += 1

    def check_invariants(self) -> None:
        """Raise ``OvercommitError`` if any free amount is negative or above capacity,
        or the lists disagree with the arrays."""
        if (
            self.cpu_list != self.cpu_left.tolist()
            or self.mem_list != self.mem_left.tolist()
            or self.gpu_lists != self.gpu_left.tolist()
        ):
            raise OvercommitError("free amounts out of step")
        if (self.cpu_left < 0).any() or (self.mem_left < 0).any():
            raise OvercommitError("negative free CPU or memory")
        if (self.gpu_left < 0).any() or (self.gpu_left > self.gpu_cap).any():
            raise OvercommitError("GPU free amount out of [0, capacity]")
