"""A metric-source wrapper that bounds each call's time and remembers what it saw.

The engine treats a ``SourceError`` as "hold, never scale in"; this wrapper turns a
source that hangs into exactly that (after ``timeout``) and keeps the last window per
group for the audit log, plus a count of consecutive failures for readiness.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from autoscaler.interfaces import MetricSource
from autoscaler.model import MetricWindow, SourceError


class ObservedSource:
    """Wraps one group's ``MetricSource``. ``timeout=None`` calls the source directly;
    ``on_call(seconds)`` hears how long each call took, failures included."""

    def __init__(
        self,
        source: MetricSource,
        timeout: timedelta | None = None,
        *,
        on_call: Callable[[float], None] | None = None,
    ) -> None:
        self.source = source
        self.timeout = timeout
        self.on_call = on_call
        self.consecutive_failures = 0
        self.last_error: str | None = None

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        try:
            w = self._call(self.source.window, query, end, span, step)
        except SourceError as exc:
            self.consecutive_failures += 1
            self.last_error = str(exc)
            raise
        except Exception as exc:  # a broken adapter is a source failure, not a crash
            self.consecutive_failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise SourceError(self.last_error) from exc
        self.consecutive_failures = 0
        self.last_error = None
        return w

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        return self._call(self.source.query, query, start, end, step)

    def _call(self, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._bounded(fn, *args)
        finally:
            if self.on_call is not None:
                self.on_call(time.perf_counter() - t0)

    def _bounded(self, fn: Any, *args: Any) -> Any:
        if self.timeout is None:
            return fn(*args)
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:
                box["error"] = exc

        # A daemon thread: a source that never returns must not keep the process alive.
        t = threading.Thread(target=run, name="source-call", daemon=True)
        t.start()
        t.join(self.timeout.total_seconds())
        if t.is_alive():
            raise SourceError(f"no answer within {self.timeout.total_seconds():g}s")
        if "error" in box:
            raise box["error"]
        return box["value"]
