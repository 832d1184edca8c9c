"""A cloud-adapter wrapper that remembers the last ``CloudError``, for the backoff.

The engine turns a ``CloudError`` into a recorded failure and goes on; the daemon
also needs to know whether the cloud asked to wait (``retry_after``) so that it does
not hammer a failing API every interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from autoscaler.interfaces import CloudAdapter
from autoscaler.model import CloudError, GroupSpec, GroupStatus, InstanceInfo, ScaleAction
from autoscaler.placement.hosts import HostView

MAX_BACKOFF_INTERVALS = 16


class ObservedCloud:
    """``on_call(operation, seconds)`` hears how long each call took, failures included."""

    def __init__(
        self, cloud: CloudAdapter, *, on_call: Callable[[str, float], None] | None = None
    ) -> None:
        self.cloud = cloud
        self.capabilities = cloud.capabilities
        self.on_call = on_call
        self.last_error: CloudError | None = None
        self.consecutive_failures = 0

    @contextmanager
    def _observed(self, operation: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        except CloudError as exc:
            self.last_error = exc
            self.consecutive_failures += 1
            raise
        finally:
            if self.on_call is not None:
                self.on_call(operation, time.perf_counter() - t0)

    def status(self, group: GroupSpec) -> GroupStatus:
        with self._observed("status"):
            return self.cloud.status(group)

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        with self._observed("fleet"):
            return self.cloud.fleet(group)

    def scale(self, action: ScaleAction) -> None:
        with self._observed("scale"):
            self.cloud.scale(action)
        self.consecutive_failures = 0
        self.last_error = None

    def host_views(self) -> Sequence[HostView]:
        """The wrapped cloud's hosts; only called when it declares ``host_views``."""
        with self._observed("host_views"):
            return self.cloud.host_views()  # type: ignore[attr-defined]

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
