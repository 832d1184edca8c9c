"""A simulated cloud: groups of instances that boot with a delay, may fail, and are billed.

Implements the ``CloudAdapter`` protocol. Deterministic given its seeded RNG. Time only
moves when the simulation loop calls ``advance(now)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from autoscaler.model import (
    CloudError,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    ScaleAction,
)
from autoscaler.simulator.boot import BootDelay


@dataclass
class _Instance:
    id: str
    created_at: datetime
    ready_at: datetime
    fails: bool
    host: str | None = None


@dataclass
class _Group:
    ready: list[_Instance] = field(default_factory=list)  # creation order
    booting: list[_Instance] = field(default_factory=list)  # creation order
    failed: int = 0
    seq: int = 0


class SimCloud:
    """Simulated groups. Scale-in removes the named victims, else booting instances
    first and then the youngest ready ones (the cheapest to lose).

    ``scale`` is idempotent in ``action_id``: a replayed action is ignored.
    """

    capabilities = frozenset({"absolute_count", "victims"})

    def __init__(
        self,
        boot_delay: BootDelay,
        *,
        seed: int = 0,
        failure_rate: float = 0.0,
    ) -> None:
        self.boot_delay = boot_delay
        self.failure_rate = failure_rate
        self.rng = np.random.default_rng(seed)
        self.groups: dict[str, _Group] = {}
        self.applied: set[str] = set()
        self.actions = 0
        self.now: datetime | None = None

    def _group(self, name: str) -> _Group:
        g = self.groups.get(name)
        if g is None:
            raise CloudError(f"group {name!r} does not exist in the simulated cloud")
        return g

    def create_group(self, name: str, size: int, now: datetime) -> None:
        """Start a group with ``size`` instances already serving."""
        g = _Group()
        for _ in range(size):
            g.seq += 1
            g.ready.append(_Instance(f"{name}-{g.seq}", now, now, False))
        self.groups[name] = g
        self.now = now

    def advance(self, now: datetime) -> None:
        """Finish the boots due by ``now``; failed boots disappear and are counted."""
        self.now = now
        for g in self.groups.values():
            if not g.booting:
                continue
            still = []
            for inst in g.booting:
                if inst.ready_at <= now:
                    if inst.fails:
                        g.failed += 1
                    else:
                        g.ready.append(inst)
                else:
                    still.append(inst)
            if len(still) != len(g.booting):
                g.booting = still
                g.ready.sort(key=lambda i: i.created_at)

    def status(self, group: GroupSpec) -> GroupStatus:
        g = self._group(group.name)
        return GroupStatus(len(g.ready), len(g.booting), False, g.failed)

    def counts(self, name: str) -> tuple[int, int]:
        """(ready, booting) for a group: the simulation loop's cheap read."""
        g = self.groups[name]
        return len(g.ready), len(g.booting)

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        g = self._group(group.name)
        return [
            InstanceInfo(i.id, i.created_at, i.host, None, ready)
            for ready, insts in ((True, g.ready), (False, g.booting))
            for i in insts
        ]

    def scale(self, action: ScaleAction) -> None:
        if action.action_id in self.applied:
            return
        g = self._group(action.group)
        now = action.created_at
        current = len(g.ready) + len(g.booting)
        if current != action.current:
            raise CloudError(
                f"group {action.group} has {current} instances, the action expected {action.current}"
            )
        delta = action.target - current
        if delta > 0:
            for _ in range(delta):
                g.seq += 1
                fails = self.failure_rate > 0 and self.rng.random() < self.failure_rate
                delay = self.boot_delay.sample(self.rng)
                g.booting.append(_Instance(f"{action.group}-{g.seq}", now, now + delay, fails))
        elif delta < 0:
            self._remove(g, -delta, action.victims)
        self.applied.add(action.action_id)
        self.actions += 1

    @staticmethod
    def _remove(g: _Group, n: int, victims: Sequence[str]) -> None:
        if victims:
            chosen = set(victims[:n])
            g.booting = [i for i in g.booting if i.id not in chosen]
            g.ready = [i for i in g.ready if i.id not in chosen]
            n -= len(chosen)
        while n > 0 and g.booting:
            g.booting.pop()
            n -= 1
        while n > 0 and g.ready:
            g.ready.pop()
            n -= 1
