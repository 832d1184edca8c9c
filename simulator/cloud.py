"""A simulated cloud: groups of instances that boot with a delay, may fail, and are billed.

Implements the ``CloudAdapter`` protocol. Deterministic given its seeded RNG. Time only
moves when the simulation loop calls ``advance(now)``. Optionally the cloud has compute
hosts: then every instance lives on one, and an instance that fits on no (or not on the
requested) host fails to boot, as with Nova's NoValidHost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from autoscaler.model import (
    CloudError,
    GroupSpec,
    GroupStatus,
    InstanceInfo,
    Placement,
    ScaleAction,
)
from autoscaler.placement.hosts import Flavor, Host, HostView
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.host_ledger import HostLedger

# "instance_load": ``fleet()`` reports each instance's load (for groups given a demand).
BASE_CAPABILITIES = frozenset({"absolute_count", "victims", "instance_load"})
# "placement": honours ``ScaleAction.placements``; "host_views": reports every host's
# allocation (all groups together) through ``host_views()``.
HOST_CAPABILITIES = BASE_CAPABILITIES | {"placement", "host_views"}


@dataclass
class _Instance:
    id: str
    created_at: datetime
    ready_at: datetime
    fails: bool
    host: str | None = None
    zone: str | None = None


@dataclass
class _Group:
    ready: list[_Instance] = field(default_factory=list)  # creation order
    booting: list[_Instance] = field(default_factory=list)  # creation order
    failed: int = 0
    seq: int = 0
    flavor: Flavor = field(default_factory=lambda: Flavor("default"))
    placement_failures: int = 0  # boots that failed because no host could take them
    demand: _Demand | None = None
    # Set when the group has its own boot delay / random stream / clock (groups that
    # share one cloud but must each behave as if alone in it, as the daemon's do).
    boot_delay: BootDelay | None = None
    rng: np.random.Generator | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class _Demand:
    """A group's offered load per second: sample i covers [start + i*step, +step)."""

    values: np.ndarray
    start: datetime
    step: timedelta

    def at(self, now: datetime) -> float | None:
        i = int((now - self.start) / self.step)
        return float(self.values[i]) if 0 <= i < len(self.values) else None


class SimCloud:
    """Simulated groups. Scale-in removes the named victims, else booting instances
    first and then the youngest ready ones (the cheapest to lose).

    ``scale`` is idempotent in ``action_id``: a replayed action is ignored. With
    ``hosts`` (non-empty) each group's instances take its flavor's resources on a host,
    all groups sharing the hosts; ``action.placements[k]`` says where the k-th new
    instance goes, and a new instance without one goes where ``HostLedger.schedule``
    puts it. One that cannot be placed counts as a failed boot at once.
    """

    capabilities = BASE_CAPABILITIES

    def __init__(
        self,
        boot_delay: BootDelay,
        *,
        seed: int = 0,
        failure_rate: float = 0.0,
        hosts: Sequence[Host] | None = None,
    ) -> None:
        self.boot_delay = boot_delay
        self.failure_rate = failure_rate
        self.rng = np.random.default_rng(seed)
        self.groups: dict[str, _Group] = {}
        self.applied: set[str] = set()
        self.actions = 0
        self.now: datetime | None = None
        self.ledger = HostLedger(hosts) if hosts else None
        if self.ledger is not None:
            self.capabilities = HOST_CAPABILITIES

    def _group(self, name: str) -> _Group:
        g = self.groups.get(name)
        if g is None:
            raise CloudError(f"group {name!r} does not exist in the simulated cloud")
        return g

    def create_group(
        self,
        name: str,
        size: int,
        now: datetime,
        flavor: Flavor | None = None,
        placements: Sequence[Placement] = (),
        *,
        boot_delay: BootDelay | None = None,
        seed: int | None = None,
    ) -> None:
        """Start a group with ``size`` instances already serving, each of ``flavor``
        (default: 1 vCPU, 2 GiB). With hosts they go where ``placements`` say, as in
        ``scale``; raises ``CloudError`` (and creates nothing) when they do not all fit.
        ``boot_delay`` (default: the cloud's) is the group's own; with ``seed`` the group
        draws its boot delays and failures from its own random stream, so that it boots
        exactly as it would alone in a cloud of that seed."""
        g = _Group(flavor=flavor or Flavor("default"), boot_delay=boot_delay)
        if seed is not None:
            g.rng = np.random.default_rng(seed)
        for k in range(size):
            g.seq += 1
            inst = _Instance(f"{name}-{g.seq}", now, now, False)
            where = placements[k] if k < len(placements) else None
            if self.ledger is not None and not self._place(inst, name, g.flavor, where):
                for placed in g.ready:
                    self.ledger.release(placed.id)
                raise CloudError(
                    f"the hosts cannot hold group {name}'s {size} initial instances "
                    f"of flavor {g.flavor.name} (only {len(g.ready)} fit)"
                )
            g.ready.append(inst)
        self.groups[name] = g
        self.now = now

    def _place(self, inst: _Instance, group: str, flavor: Flavor, where: Placement | None) -> bool:
        """Claim a host for ``inst``; False when none can take it."""
        assert self.ledger is not None
        host = self.ledger.schedule(flavor, where)
        if host is None:
            return False
        self.ledger.claim(host, inst.id, group, flavor)
        inst.host, inst.zone = host, self.ledger.zone(host)
        return True

    def advance(self, now: datetime, group: str | None = None) -> None:
        """Finish the boots due by ``now``; failed boots disappear and are counted.
        With ``group``, only that group's (each group then keeps its own time)."""
        if group is None:
            self.now = now
        else:
            self._group(group).now = now
        for name, g in self.groups.items():
            if group is not None and name != group:
                continue
            if not g.booting:
                continue
            still = []
            for inst in g.booting:
                if inst.ready_at <= now:
                    if inst.fails:
                        g.failed += 1
                        if self.ledger is not None:
                            self.ledger.release(inst.id)
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

    def attach_demand(
        self, name: str, values: np.ndarray, start: datetime, step: timedelta
    ) -> None:
        """Give group ``name`` its offered load (per second, sample i over [start + i*step,
        +step)), so that ``fleet()`` reports each instance's load."""
        self._group(name).demand = _Demand(np.asarray(values, dtype=float), start, step)

    def fleet(self, group: GroupSpec) -> Sequence[InstanceInfo]:
        """Every instance, ready ones first. With a demand attached, each ready instance
        reports its share of the load at the cloud's current time (a balancer spreads
        requests evenly over the serving instances) and a booting one reports 0; without
        one, or outside the demand's span, the load is unknown (None)."""
        g = self._group(group.name)
        at = g.now or self.now
        total = g.demand.at(at) if g.demand is not None and at is not None else None
        share = total / len(g.ready) if total is not None and g.ready else None
        return [
            InstanceInfo(i.id, i.created_at, i.host, i.zone, ready,
                         (share if ready else 0.0) if total is not None else None)
            for ready, insts in ((True, g.ready), (False, g.booting))
            for i in insts
        ]  # fmt: skip

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
            for k in range(delta):
                g.seq += 1
                inst = _Instance(f"{action.group}-{g.seq}", now, now, False)
                if self.ledger is not None:
                    where = action.placements[k] if k < len(action.placements) else None
                    if not self._place(inst, action.group, g.flavor, where):
                        g.failed += 1
                        g.placement_failures += 1
                        continue
                rng = g.rng or self.rng
                inst.fails = self.failure_rate > 0 and rng.random() < self.failure_rate
                inst.ready_at = now + (g.boot_delay or self.boot_delay).sample(rng)
                g.booting.append(inst)
        elif delta < 0:
            removed = self._remove(g, -delta, action.victims)
            if self.ledger is not None:
                for inst in removed:
                    self.ledger.release(inst.id)
        self.applied.add(action.action_id)
        self.actions += 1
        if delta > 0 and any(i.ready_at <= now for i in g.booting):
            # A zero boot delay serves at once, within the step that asked for it; left
            # booting until the next advance, it would cost every scale-out a step and
            # the oracle would no longer be a lower bound.
            self.advance(now)

    @staticmethod
    def _remove(g: _Group, n: int, victims: Sequence[str]) -> list[_Instance]:
        """Remove ``n`` instances (see the class docstring); returns them."""
        removed: list[_Instance] = []
        if victims:
            chosen = set(victims[:n])
            removed = [i for i in (*g.booting, *g.ready) if i.id in chosen]
            g.booting = [i for i in g.booting if i.id not in chosen]
            g.ready = [i for i in g.ready if i.id not in chosen]
            n -= len(removed)
        while n > 0 and g.booting:
            removed.append(g.booting.pop())
            n -= 1
        while n > 0 and g.ready:
            removed.append(g.ready.pop())
            n -= 1
        return removed

    def host_views(self) -> list[HostView]:
        """Every host with what all groups' instances (booting ones too) hold on it;
        empty when the cloud has no hosts."""
        return self.ledger.views() if self.ledger is not None else []

    def hosts_used(self) -> int:
        """How many hosts hold at least one instance now (0 without hosts)."""
        return self.ledger.used if self.ledger is not None else 0

    def placement_failures(self, name: str) -> int:
        """Boots of group ``name`` that failed because no host could take them."""
        return self.groups[name].placement_failures
