"""A cloud-adapter wrapper that remembers the last ``CloudError``, for the backoff.

The engine turns a ``CloudError`` into a recorded failure and goes on; the daemon
also needs to know whether the cloud asked to wait (``retry_after``) so that it does
not hammer a failing API every interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from autoscaler.interfaces import CloudAdapter
from autoscaler.model import CloudError, GroupSpec, GroupStatus, InstanceInfo, ScaleAction
from autoscaler.placement.hosts import HostView

MAX_BACKOFF_INTERVALS = 16


class ObservedCloud:
    def __init__(self, cloud: CloudAdapter) -> None:
        self.cloud = cloud
        self.capabilities = cloud.capabilities
        self.last_error: CloudError | None = None
        self.consecutive_failures = 0

    def _failed(self, exc: CloudError) -> None:
        self.last_error = exc
        self.consecutive_failures += 1

    def status(self, group: GroupSpec) -> GroupStatus:
        try:
            s = self.cloud.status(group)
        except CloudError as exc:
            self._failed(exc)
            raise
        return s

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        try:
            return self.cloud.fleet(group)
        except CloudError as exc:
            self._failed(exc)
            raise

    def scale(self, action: ScaleAction) -> None:
        try:
            self.cloud.scale(action)
        except CloudError as exc:
            self._failed(exc)
            raise
        self.consecutive_failures = 0
        self.last_error = None

    def host_views(self) -> Sequence[HostView]:
        """The wrapped cloud's hosts; only called when it declares ``host_views``."""
        try:
            return self.cloud.host_views()  # type: ignore[attr-defined]
        except CloudError as exc:
            self._failed(exc)
            raise

    def live_migrate(self, server_id: str, host: str) -> None:
        """The wrapped cloud's live migration; only called when it declares it."""
        try:
            self.cloud.live_migrate(server_id, host)  # type: ignore[attr-defined]
        except CloudError as exc:
            self._failed(exc)
            raise

    def succeeded(self) -> None:
        """Called after a tick without a cloud error."""
        self.consecutive_failures = 0
        self.last_error = None

    def backoff(self, interval: timedelta) -> timedelta:
        """How long after a failed tick the next attempt may come.

        The cloud's ``retry_after`` when it gave one; else one interval after the first
        failure (the regular schedule), doubling with each further consecutive failure,
        capped at 16 intervals. Zero when healthy.
        """
        if self.consecutive_failures == 0:
            return timedelta(0)
        if self.last_error is not None and self.last_error.retry_after is not None:
            return timedelta(seconds=self.last_error.retry_after)
        factor = min(2 ** (self.consecutive_failures - 1), MAX_BACKOFF_INTERVALS)
        return interval * factor
