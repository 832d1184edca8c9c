"""Replaying per-VM CPU traces (e.g. PlanetLab) onto simulated hosts, per placement policy.

Each VM's trace is its CPU use in percent of its own vCPUs, one sample per ``step``.
The first ``history`` of samples is the past the placement may look at (the VMs ran
elsewhere before); the VMs are placed at the end of it and judged from then on. Every
``rebalance`` a policy that predicts load (``interference_aware``) moves VMs off hosts
whose predicted demand crosses the contention threshold and, given a ``Consolidation``,
drains the least-loaded hosts onto the others (``autoscaler.placement.rebalance``); the
other policies never move a VM.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from autoscaler.input_errors import InputError, printable
from autoscaler.input_files import read_text_file
from autoscaler.interfaces import ReplayFleet
from autoscaler.placement.hosts import Flavor, Host, HostView, VmRequest
from autoscaler.placement.policies import (
    Demand,
    InterferenceAwarePlacement,
    PlacementPlan,
    PlacementPolicy,
    place,
)
from autoscaler.placement.rebalance import Consolidation, Member, RebalancePlan
from autoscaler.placement.rebalance import rebalance as plan_rebalance
from autoscaler.traces import MAX_TRACE_POINTS, TraceError

MAX_VM_FILE_BYTES = 16 * 1024 * 1024  # one per-VM trace (PlanetLab's are about 1 KB)
MAX_VM_FILES = 100_000


@dataclass(frozen=True)
class VmTraces:
    names: tuple[str, ...]
    cpu: np.ndarray  # (vms, steps), percent of the VM's vCPUs
    step: timedelta


def load_vm_traces(directory: str | Path, limit: int | None = None) -> VmTraces:
    """Read every file in ``directory`` (sorted by name; names may contain spaces): one
    number a line, CPU percent. Files shorter than the longest are padded with their
    last value. Raises ``TraceError`` (one line) for a missing path, a file instead of a
    folder, a folder with no trace files, a member that is unreadable, binary, not
    UTF-8 or over 16 MiB, a bad value (with file and line), or too many samples."""
    d = Path(directory)
    if not d.exists():
        raise TraceError(f"{d}: no such directory (--vms wants a folder of per-VM traces)")
    if not d.is_dir():
        raise TraceError(f"{d}: is a file, not a directory of per-VM traces (--vms)")
    try:
        files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise TraceError(f"{d}: cannot list the directory: {exc.strerror or exc}") from None
    if limit is not None:
        files = files[:limit]
    if not files:
        raise TraceError(f"{d}: no trace files in the directory (--vms: one CPU % a line)")
    if len(files) > MAX_VM_FILES:
        raise TraceError(f"{d}: {len(files):,} files, more than {MAX_VM_FILES:,} VM traces")
    rows: list[np.ndarray] = []
    longest = 0
    for p in files:
        try:
            content = read_text_file(p, what="per-VM trace", max_bytes=MAX_VM_FILE_BYTES)
        except InputError as exc:
            raise TraceError(str(exc)) from None
        values = []
        for n, line in enumerate(content.splitlines(), 1):
            text = line.strip()
            if not text:
                continue
            try:
                v = float(text)
            except ValueError:
                raise TraceError(
                    f"{p}:{n}: {printable(text[:30])!r} is not a number "
                    "(a per-VM trace has one CPU % a line)"
                ) from None
            if not (math.isfinite(v) and 0 <= v <= 1000):
                raise TraceError(
                    f"{p}:{n}: CPU percent {printable(text[:30])!r} is out of range 0-1000"
                )
            values.append(v)
        if not values:
            raise TraceError(f"{p}: empty file, no CPU samples")
        rows.append(np.asarray(values))
        longest = max(longest, len(values))
        if longest * len(rows) > MAX_TRACE_POINTS:
            raise TraceError(f"{d}: more than {MAX_TRACE_POINTS:,} samples in all (VMs x steps)")
    steps = max(len(r) for r in rows)
    cpu = np.vstack([np.pad(r, (0, steps - len(r)), mode="edge") for r in rows])
    return VmTraces(tuple(p.name for p in files), cpu, timedelta(minutes=5))


class InMemoryFleet:
    """The simulated hosts: plans are carried out by taking them as they are."""

    def place(
        self,
        policy: PlacementPolicy,
        requests: Sequence[VmRequest],
        hosts: Sequence[HostView],
        demands: Sequence[Demand],
    ) -> PlacementPlan:
        return place(policy, requests, hosts, demands)

    def rebalance(
        self,
        policy: InterferenceAwarePlacement,
        hosts: Sequence[HostView],
        members: Mapping[str, Member],
        consolidation: Consolidation | None,
    ) -> RebalancePlan:
        return plan_rebalance(policy, hosts, members, consolidation)


@dataclass(frozen=True)
class ReplayResult:
    policy: str
    vms: int
    placed: int
    unplaced: int
    moved: int  # live migrations of both kinds
    moved_off_hot: int  # VMs moved off hosts predicted above the contention threshold
    consolidated: int  # VMs moved to empty the least-loaded hosts
    hosts_drained: int  # hosts emptied by consolidation
    hosts_used_mean: float
    hosts_used_peak: int
    overload_minutes: float  # host-minutes with CPU demand above 100 %
    contention_minutes: float  # host-minutes above the contention threshold
    vm_minutes_affected: float  # VM-minutes on a host above the contention threshold
    max_allocation_ratio: float  # largest vCPU allocation / host vCPUs seen
    wall_seconds: float
    # Per judged step (for plots; not in ``as_dict``): hosts in use, hosts above the
    # contention threshold, VMs on such hosts.
    hosts_used: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    hot_hosts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    vms_affected: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def as_dict(self) -> dict:
        d = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("hosts_used", "hot_hosts", "vms_affected")
        }
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 3)
        return d


def demands_at(cpu_vcpus: np.ndarray, t: int, history: int) -> list[Demand]:
    """Each VM's demand over the last ``history`` samples before ``t``: mean and variance."""
    win = cpu_vcpus[:, max(0, t - history) : t]
    if win.shape[1] == 0:
        return [Demand() for _ in range(cpu_vcpus.shape[0])]
    mean, var = win.mean(axis=1), win.var(axis=1)
    return [Demand(float(m), float(v)) for m, v in zip(mean, var, strict=True)]


def replay(
    policy: PlacementPolicy,
    traces: VmTraces,
    hosts: list[Host],
    flavor: Flavor,
    *,
    threshold: float = 0.8,
    history: timedelta = timedelta(hours=1),
    rebalance: timedelta = timedelta(hours=1),
    consolidation: Consolidation | None = None,
    fleet: ReplayFleet | None = None,
) -> ReplayResult:
    """Place the VMs with ``policy`` and replay their traces; see the module docstring.
    ``fleet`` carries out placements and moves (default: in memory)."""
    fleet = fleet or InMemoryFleet()
    t_start = time.perf_counter()
    n_vms, n_steps = traces.cpu.shape
    h_steps = max(1, round(history / traces.step))
    r_steps = max(1, round(rebalance / traces.step))
    if h_steps >= n_steps:
        raise TraceError(f"the traces have {n_steps} samples, no more than the history")
    demand_vcpus = traces.cpu / 100.0 * flavor.vcpus
    requests = [VmRequest(name, flavor, "vms") for name in traces.names]
    host_index = {h.name: k for k, h in enumerate(hosts)}
    views = [HostView(h) for h in hosts]
    demands = demands_at(demand_vcpus, h_steps, h_steps)
    plan = fleet.place(policy, requests, views, demands)
    views = list(plan.hosts)
    where = np.full(n_vms, -1)
    vm_index = {name: i for i, name in enumerate(traces.names)}
    for vm_id, host in plan.assignments:
        where[vm_index[vm_id]] = host_index[host]

    cap = np.array([h.vcpus for h in hosts], dtype=float)
    used_hosts = np.zeros(n_steps - h_steps, dtype=np.int64)
    hot_hosts = np.zeros(n_steps - h_steps, dtype=np.int64)
    vms_affected = np.zeros(n_steps - h_steps, dtype=np.int64)
    overload = contention = affected = 0
    moved_hot = consolidated = drained = 0
    max_alloc = max((v.vcpus_used / v.host.vcpus for v in views), default=0.0)
    predicts = isinstance(policy, InterferenceAwarePlacement)
    for j, t in enumerate(range(h_steps, n_steps)):
        if predicts and j > 0 and j % r_steps == 0:
            demands = demands_at(demand_vcpus, t, h_steps)
            running = {r.id: Member(r, d) for r, d in zip(requests, demands, strict=True)}
            moves = _rebalance(
                fleet, policy, views, running, where, vm_index, host_index, consolidation
            )
            views = list(moves.hosts)
            moved_hot += moves.count("hot")
            consolidated += moves.count("consolidate")
            drained += len(moves.drained)
            max_alloc = max(max_alloc, *(v.vcpus_used / v.host.vcpus for v in views))
        on = where >= 0
        load = np.bincount(where[on], weights=demand_vcpus[on, t], minlength=len(hosts))
        members = np.bincount(where[on], minlength=len(hosts))
        util = load / cap
        used_hosts[j] = int((members > 0).sum())
        overload += int((util > 1.0).sum())
        hot = util > threshold
        hot_hosts[j] = int(hot.sum())
        vms_affected[j] = int(members[hot].sum())
        contention += int(hot_hosts[j])
        affected += int(vms_affected[j])
    minutes = traces.step.total_seconds() / 60.0
    return ReplayResult(
        policy=policy.name,
        vms=n_vms,
        placed=len(plan.assignments),
        unplaced=len(plan.unplaced),
        moved=moved_hot + consolidated,
        moved_off_hot=moved_hot,
        consolidated=consolidated,
        hosts_drained=drained,
        hosts_used_mean=float(used_hosts.mean()),
        hosts_used_peak=int(used_hosts.max()),
        overload_minutes=overload * minutes,
        contention_minutes=contention * minutes,
        vm_minutes_affected=affected * minutes,
        max_allocation_ratio=max_alloc,
        wall_seconds=time.perf_counter() - t_start,
        hosts_used=used_hosts,
        hot_hosts=hot_hosts,
        vms_affected=vms_affected,
    )


def _rebalance(
    fleet: ReplayFleet,
    policy: InterferenceAwarePlacement,
    views: list[HostView],
    members: dict[str, Member],
    where: np.ndarray,
    vm_index: dict[str, int],
    host_index: dict[str, int],
    consolidation: Consolidation | None,
) -> RebalancePlan:
    """Refresh every host's prediction from ``members``, plan the rebalance and carry it
    out on ``where`` (updated in place). Returns the plan."""
    fresh = []
    for v in views:
        mean = sum(members[vm].demand.mean for vm in v.vms)
        var = sum(members[vm].demand.var for vm in v.vms)
        fresh.append(
            HostView(v.host, v.vcpus_used, v.ram_used, v.gpus_used, v.vms, v.groups, mean, var)
        )
    plan = fleet.rebalance(policy, fresh, members, consolidation)
    for move in plan.moves:
        where[vm_index[move.vm]] = host_index[move.target]
    return plan


def host_pool(count: int, *, zones: tuple[str, ...] = ("az1", "az2")) -> list[Host]:
    """The default pool: ``count`` hosts of 4 vCPUs / 64 GiB, CPU overcommitted 4:1 (so
    CPU, not RAM, is what colocation contends for)."""
    return [
        Host(f"cmp-{k + 1}", zones[k % len(zones)], 4, 65536, 0, 4.0, 1.0) for k in range(count)
    ]
