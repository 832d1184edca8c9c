"""CPU allocation for GPU jobs: as requested, GPU-proportional, or resource-sensitive.

Sensitivity model (our choice, in the spirit of Synergy, Mohan et al., OSDI'22): a
fraction ``s`` of a job's run time scales inversely with the CPU it gets (data loading
and pre-processing), the rest is GPU-bound, so with ``alloc`` CPU its run time is the
trace's duration times ``(1 - s) + s * request / alloc`` (the trace job ran with its
request). The trace has no profiles, so ``s`` is derived from what the job declared:
a job that asked for more CPU than its GPU-proportional share is CPU-hungry,
``s = clip(request / (2 * proportional), 0.1, 0.9)`` (asking for exactly the
proportional share gives 0.5). Memory is always the request (it only gates placement).

* ``request``: the job gets what it asked for (the fragmentation experiments' model).
* ``proportional``: GPU-share of the node's CPU (node CPU x job GPUs / node GPUs).
* ``sensitive``: target ``proportional * (0.5 + s)``: insensitive jobs give CPU back,
  sensitive ones get up to 1.4x, from what the node has free when they start.
CPU-only pods always get their request.
"""

from __future__ import annotations

from dataclasses import dataclass

ALLOCATIONS = ("request", "proportional", "sensitive")


@dataclass(frozen=True, slots=True)
class CpuPlan:
    """``need``: CPU (milli) the job must find on a node; ``target``: what it would
    like; ``sensitivity``: the fraction of its run time that scales with CPU."""

    need: int
    target: int
    sensitivity: float


def proportional_cpu(node_cpu: int, node_gpus: int, job_gpu_milli: int) -> int:
    """The GPU-proportional CPU share (milli); 0 for a node without GPUs."""
    if node_gpus <= 0:
        return 0
    return int(node_cpu * job_gpu_milli // (node_gpus * 1000))


def sensitivity(request_cpu: int, proportional: int) -> float:
    """Fraction of run time that scales with CPU, from the declared request."""
    if proportional <= 0:
        return 0.5
    return min(0.9, max(0.1, request_cpu / (2.0 * proportional)))


def cpu_plan(mode: str, request_cpu: int, proportional: int) -> CpuPlan:
    """How much CPU a GPU job needs and wants under ``mode``. Raises ValueError for an
    unknown mode."""
    if mode not in ALLOCATIONS:
        raise ValueError(f"unknown allocation {mode!r} (choose from {', '.join(ALLOCATIONS)})")
    s = sensitivity(request_cpu, proportional)
    if mode == "request" or proportional <= 0:
        return CpuPlan(request_cpu, request_cpu, s)
    if mode == "proportional":
        return CpuPlan(proportional, proportional, s)
    target = max(1, round(proportional * (0.5 + s)))
    return CpuPlan(min(target, proportional), target, s)


def granted_cpu(plan: CpuPlan, free_after_need: int) -> int:
    """CPU actually given: the need plus as much of the rest of the target as the node
    has free once the need is taken (never more than is free)."""
    return plan.need + max(0, min(plan.target - plan.need, free_after_need))


def slowdown(s: float, request_cpu: int, alloc_cpu: int) -> float:
    """Run time relative to the trace's: ``(1 - s) + s * request / alloc``."""
    if alloc_cpu <= 0:
        raise ValueError("a job needs some CPU")
    return (1.0 - s) + s * request_cpu / alloc_cpu
