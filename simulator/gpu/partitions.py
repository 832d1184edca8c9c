"""Logical partitions (tenants / virtual clusters) with GPU quotas over one fleet.

A partition does not own nodes; it caps how many GPUs its pods may hold at once
anywhere in the fleet, and admission refuses a pod that would pass the cap (it waits).
Pods are assigned to partitions by the caller (the openb trace has no tenant column,
so the time replay deals them round-robin in trace order).
"""

from __future__ import annotations

from autoscaler.simulator.gpu.fleet import Partition


class QuotaLedger:
    """GPU milli held per partition. Unknown partitions are refused at construction."""

    def __init__(self, partitions: tuple[Partition, ...]) -> None:
        self.quota = {p.name: round(p.gpu_quota * 1000) for p in partitions}
        self.held = dict.fromkeys(self.quota, 0)

    def admits(self, partition: str | None, gpu_milli: int) -> bool:
        """Whether ``partition`` may take ``gpu_milli`` more (always True for None)."""
        if partition is None:
            return True
        return self.held[partition] + gpu_milli <= self.quota[partition]

    def charge(self, partition: str | None, gpu_milli: int) -> None:
        """Record ``gpu_milli`` taken. Raises ValueError past the quota."""
        if partition is None:
            return
        if not self.admits(partition, gpu_milli):
            raise ValueError(f"partition {partition}: GPU quota exceeded")
        self.held[partition] += gpu_milli

    def refund(self, partition: str | None, gpu_milli: int) -> None:
        """Give back what ``charge`` took. Raises ValueError below zero."""
        if partition is None:
            return
        if self.held[partition] < gpu_milli:
            raise ValueError(f"partition {partition}: refund of more than is held")
        self.held[partition] -= gpu_milli
