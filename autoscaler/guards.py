"""The engine's safety guards, applied once to the combined vote of a group's policies.

Pure: values in, values out. Order matters and is part of the contract:

1. in flight: while the cloud is still carrying out an action, hold;
2. data: never scale in on missing, stale or garbage data;
3. step: at most ``max_step_up`` / ``max_step_down`` instances per action;
4. cooldown: no scale-out within ``cooldown_up`` of the last scale-out; no scale-in
   within ``cooldown_down`` of the last action of either direction;
5. bounds: clamp to [min_size, max_size] (this one always applies, so a group outside
   its bounds is brought back even during a cooldown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from autoscaler.model import GroupSpec, GroupStatus


@dataclass(frozen=True, slots=True)
class GuardResult:
    desired: int
    guards: tuple[str, ...]

    @property
    def guard(self) -> str | None:
        return ",".join(self.guards) if self.guards else None


def combine_votes(votes: list[int], current: int) -> int:
    """The safest vote: up beats hold beats down, and on a tie the larger count.

    That ordering is exactly the maximum of the votes. No votes means hold.
    """
    return max(votes) if votes else current


def apply_guards(
    *,
    now: datetime,
    spec: GroupSpec,
    status: GroupStatus,
    proposed: int,
    data_problem: str | None,
    last_up: datetime | None,
    last_any: datetime | None,
) -> GuardResult:
    """Turn a proposed instance count into one that is safe to act on now.

    ``data_problem`` is None when the observed metrics are fresh and valid, else a
    short reason ("missing_data", "stale_data", "source_error").
    """
    current = status.total
    desired = proposed
    fired: list[str] = []

    if status.in_flight and desired != current:
        desired = current
        fired.append("in_flight")
    if data_problem is not None and desired < current:
        desired = current
        fired.append(data_problem)
    if desired > current + spec.max_step_up:
        desired = current + spec.max_step_up
        fired.append("max_step_up")
    elif desired < current - spec.max_step_down:
        desired = current - spec.max_step_down
        fired.append("max_step_down")
    if desired > current and last_up is not None and now - last_up < spec.cooldown_up:
        desired = current
        fired.append("cooldown_up")
    elif desired < current and last_any is not None and now - last_any < spec.cooldown_down:
        desired = current
        fired.append("cooldown_down")
    if not status.in_flight:
        if desired < spec.min_size:
            desired = spec.min_size
            fired.append("min_size")
        elif desired > spec.max_size:
            desired = spec.max_size
            fired.append("max_size")
    return GuardResult(desired, tuple(fired))
