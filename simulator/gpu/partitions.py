"""Logical partitions (tenants / virtual clusters) with GPU quotas over one fleet.

A partition does not own nodes; it caps how many GPUs its pods may hold at once
anywhere in the fleet, and admission refuses a pod that would pass the cap (it waits).
With ``borrowing`` (AnalySim's logical partitions), a partition at its cap may take
quota the others leave idle, as long as the partitions together hold no more than their
quotas sum to; the lender takes it back by preemption when it needs it (the replay
evicts jobs of partitions over their own quota, see ``over_quota``).
Pods are assigned to partitions by the caller (the openb trace has no tenant column,
so the time replay deals them round-robin in trace order).
"""

from __future__ import annotations

from autoscaler.simulator.gpu.fleet import Partition


class QuotaLedger:
    """GPU milli held per partition."""

    def __init__(self, partitions: tuple[Partition, ...], borrowing: bool = False) -> None:
        self.quota = {p.name: round(p.gpu_quota * 1000) for p in partitions}
        self.held = dict.fromkeys(self.quota, 0)
        self.borrowing = borrowing
        self.total_quota = sum(self.quota.values())
        self.total_held = 0  # sum of ``held``
        self.version = 0  # bumped on every charge and refund

    def within_own(self, partition: str | None, gpu_milli: int) -> bool:
        """Whether ``partition`` may take ``gpu_milli`` more inside its own quota."""
        if partition is None:
            return True
        return self.held[partition] + gpu_milli <= self.quota[partition]

    def admits(self, partition: str | None, gpu_milli: int) -> bool:
        """Whether ``partition`` may take ``gpu_milli`` more now: inside its quota and the
        total, or by borrowing idle quota (always True for None)."""
        return self.standing(partition, gpu_milli)[1]

    def standing(self, partition: str | None, gpu_milli: int) -> tuple[bool, bool]:
        """(``within_own``, ``admits``) for ``gpu_milli`` more, in one call (a retry's
        hot path asks both)."""
        if partition is None:
            return True, True
        fits_total = self.total_held + gpu_milli <= self.total_quota
        if self.within_own(partition, gpu_milli):
            return True, fits_total or not self.borrowing
        return False, self.borrowing and fits_total

    def reclaim_needed(self, partition: str | None, gpu_milli: int) -> int:
        """Milli that borrowers must give back before ``partition`` can take
        ``gpu_milli`` inside its own quota (0 when none is needed or it is not owed)."""
        if partition is None or not self.borrowing or not self.within_own(partition, gpu_milli):
            return 0
        return max(0, self.total_held + gpu_milli - self.total_quota)

    def own_excess(self, partition: str | None, gpu_milli: int) -> int:
        """Milli ``partition`` must free of its own running jobs before it can take
        ``gpu_milli`` inside its own quota (and, with borrowing, inside the quotas' sum,
        so that it is then admitted); 0 when it is inside its own quota already."""
        if partition is None or self.within_own(partition, gpu_milli):
            return 0
        excess = self.held[partition] + gpu_milli - self.quota[partition]
        if self.borrowing:
            excess = max(excess, self.total_held + gpu_milli - self.total_quota)
        return excess

    def over_quota(self, partition: str | None) -> bool:
        """Whether ``partition`` holds borrowed quota now."""
        return partition is not None and self.held[partition] > self.quota[partition]

    def charge(self, partition: str | None, gpu_milli: int) -> None:
        """Record ``gpu_milli`` taken. Raises ValueError when not admitted."""
        if partition is None:
            return
        if not self.admits(partition, gpu_milli):
            raise ValueError(f"partition {partition}: GPU quota exceeded")
        self.held[partition] += gpu_milli
        self.total_held += gpu_milli
        self.version += 1

    def refund(self, partition: str | None, gpu_milli: int) -> None:
        """Give back what ``charge`` took. Raises ValueError below zero."""
        if partition is None:
            return
        if self.held[partition] < gpu_milli:
            raise ValueError(f"partition {partition}: refund of more than is held")
        self.held[partition] -= gpu_milli
        self.total_held -= gpu_milli
        self.version += 1
