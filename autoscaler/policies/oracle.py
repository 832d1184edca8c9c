"""The offline lower bound: a policy that knows the whole future of the trace."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from autoscaler.model import Decision, GroupSpec, PolicyContext


def boot_steps(boot: timedelta, step: timedelta) -> int:
    """Whole steps a boot of (at most) ``boot`` spans: how far ahead the oracle plans."""
    return max(0, math.ceil(boot / step - 1e-9))


def oracle_plan(required: np.ndarray, boot_steps: int) -> np.ndarray:
    """The fleet size at each step: the largest requirement over the next boot delay.

    An instance needed at step s must be launched at s - boot_steps and is billed from
    then; one needed again within a boot delay is cheaper kept than relaunched. So the
    cheapest fleet that meets every requirement in time is the forward-looking maximum
    of ``required`` over ``boot_steps + 1`` steps (a sliding-window maximum).
    """
    r = np.asarray(required, dtype=np.int64)
    if boot_steps <= 0 or len(r) == 0:
        return r.copy()
    padded = np.concatenate([r, np.zeros(boot_steps, dtype=np.int64)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, boot_steps + 1)
    return windows.max(axis=1)


def unrestrained(spec: GroupSpec) -> GroupSpec:
    """The group as the oracle runs it: the physical bound, so no cooldown or step
    limit holds it back."""
    return replace(
        spec,
        cooldown_up=timedelta(0),
        cooldown_down=timedelta(0),
        max_step_up=10**9,
        max_step_down=10**9,
    )


@dataclass(frozen=True)
class OraclePolicy:
    """Votes for ``plan[i]`` at step ``i`` of a precomputed plan (simulation only)."""

    plan: np.ndarray
    start: datetime
    step: timedelta
    name: str = "oracle"

    def decide(self, ctx: PolicyContext) -> Decision:
        i = int((ctx.now - self.start) / self.step)
        if i < 0 or i >= len(self.plan):
            return Decision(ctx.status.total, "outside the known future", self.name)
        want = int(self.plan[i])
        return Decision(want, f"needs {want} within the boot delay", self.name)
