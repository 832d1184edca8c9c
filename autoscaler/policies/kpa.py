"""A Knative-KPA-like policy: concurrency per replica against a target, over a stable
and a panic window; no scale-in while in panic."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from autoscaler.model import Decision, MetricWindow, PolicyContext


def _mean_tail(window: MetricWindow, span: timedelta) -> float:
    """Mean of the finite samples in the last ``span`` of the window (NaN: none)."""
    n = max(1, round(span / window.step)) if window.step else 1
    # a few dozen samples: plain floats are cheaper than numpy's reductions here
    finite = [v for v in window.tail(n).tolist() if math.isfinite(v)]
    return math.fsum(finite) / len(finite) if finite else math.nan


@dataclass(frozen=True)
class KpaPolicy:
    """The Knative Pod Autoscaler's rule, on the group's concurrency (requests in the
    system, queued or executing, averaged per sample):

    * stable = ceil(mean over ``stable_window`` / ``target``), panic = the same over
      ``panic_window``; both bounded by the rates: at most ``max_scale_up_rate`` x ready,
      at least ready / ``max_scale_down_rate`` (ready counted as at least one);
    * panic starts (or is extended) when panic / ready >= ``panic_threshold``, and ends
      once ``stable_window`` has passed since it was last extended; in panic the count is
      the largest panic count seen since it began: never lower;
    * to zero only after ``scale_to_zero_grace`` without any wish for a replica.

    Memory (JSON-ready): ``{"panic_since": epoch s or None, "max_panic": int,
    "last_nonzero": epoch s or None}``.
    """

    target: float = 0.7
    stable_window: timedelta = timedelta(seconds=60)
    panic_window: timedelta = timedelta(seconds=6)
    panic_threshold: float = 2.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    scale_to_zero_grace: timedelta = timedelta(seconds=30)
    name: str = "kpa"

    def decide(self, ctx: PolicyContext) -> Decision:
        current = ctx.status.total
        stable = _mean_tail(ctx.load, self.stable_window)
        panic = _mean_tail(ctx.load, self.panic_window)
        memory = _read(ctx.memory)
        if math.isnan(stable) or math.isnan(panic):
            return Decision(current, "no concurrency sample", self.name, memory)
        now = ctx.now.timestamp()
        ready = max(1, ctx.status.ready)
        up_limit = math.ceil(self.max_scale_up_rate * ready)
        down_limit = math.floor(ready / self.max_scale_down_rate)
        want_stable = math.ceil(stable / self.target - 1e-9)
        want_panic = math.ceil(panic / self.target - 1e-9)
        desired_stable = min(max(want_stable, down_limit), up_limit)
        desired_panic = min(max(want_panic, down_limit), up_limit)

        panic_since = memory["panic_since"]
        max_panic = memory["max_panic"]
        over = want_panic / ready >= self.panic_threshold
        if over:
            panic_since = now
        elif panic_since is not None and now > panic_since + self.stable_window.total_seconds():
            panic_since, max_panic = None, 0
        if panic_since is not None:
            max_panic = max(max_panic, desired_panic)
            desired = max_panic
            reason = f"panic: concurrency {panic:.2f} over {self.panic_window} needs {want_panic}"
        else:
            desired = desired_stable
            reason = (
                f"stable: concurrency {stable:.2f} over {self.stable_window} needs {want_stable}"
            )
        last_nonzero = memory["last_nonzero"]
        if desired > 0:
            last_nonzero = now
        elif (
            current > 0
            and last_nonzero is not None
            and now - last_nonzero < self.scale_to_zero_grace.total_seconds()
        ):
            desired = current
            reason += f"; kept within the {self.scale_to_zero_grace} scale-to-zero grace"
        new_memory = {
            "panic_since": panic_since,
            "max_panic": max_panic,
            "last_nonzero": last_nonzero,
        }
        return Decision(desired, reason, self.name, new_memory)


def _read(memory: Any) -> dict[str, Any]:
    """The policy's memory, or a fresh one when it is missing or unreadable."""
    fresh: dict[str, Any] = {"panic_since": None, "max_panic": 0, "last_nonzero": None}
    if not isinstance(memory, dict):
        return fresh
    try:
        since = memory.get("panic_since")
        nonzero = memory.get("last_nonzero")
        return {
            "panic_since": None if since is None else float(since),
            "max_panic": int(memory.get("max_panic", 0)),
            "last_nonzero": None if nonzero is None else float(nonzero),
        }
    except (TypeError, ValueError):
        return fresh
