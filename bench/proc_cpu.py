"""On-CPU time of this process and its descendants, from Linux's ``/proc``, for the
benchmarks that compare engines on a shared machine.

Wall time on a loaded machine mostly measures the other load: a process that waits for
a CPU is not slower, it is queued. ``/proc/PID/schedstat`` says how long each thread
ran and how long it waited for a CPU, so a benchmark can report what its own work cost
(and where an engine spends CPU that the serial run does not) apart from the queue.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcCpu:
    name: str
    on_cpu: float  # seconds, all threads
    queued: float  # seconds waiting for a CPU, all threads


def _proc(pid: int) -> ProcCpu | None:
    base = Path(f"/proc/{pid}")
    try:
        name = (base / "comm").read_text().strip()
        run = wait = 0
        for task in (base / "task").iterdir():
            fields = (task / "schedstat").read_text().split()
            run, wait = run + int(fields[0]), wait + int(fields[1])
    except (OSError, IndexError, ValueError):
        return None  # gone meanwhile
    return ProcCpu(name, run / 1e9, wait / 1e9)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def snapshot() -> dict[int, ProcCpu]:
    """This process and every live descendant, by PID."""
    tree, todo, seen = _children(), [os.getpid()], {}
    while todo:
        pid = todo.pop()
        if (p := _proc(pid)) is not None:
            seen[pid] = p
            todo.extend(tree.get(pid, []))
    return seen


def spent(before: dict[int, ProcCpu], after: dict[int, ProcCpu]) -> dict[int, ProcCpu]:
    """What each process ran and queued between two snapshots (new ones from zero)."""
    out = {}
    for pid, p in after.items():
        b = before.get(pid)
        if b is not None and b.name != p.name:
            b = None  # the PID was reused
        on, q = (p.on_cpu - b.on_cpu, p.queued - b.queued) if b else (p.on_cpu, p.queued)
        out[pid] = ProcCpu(p.name, on, q)
    return out


class CpuMeter:
    """On-CPU and queued seconds of this process tree over a ``with`` block, counting
    both the descendants still alive at its end (``/proc``) and those already reaped
    (``RUSAGE_CHILDREN``, which has no queue time)."""

    wall = on_cpu = queued = 0.0

    def __enter__(self) -> CpuMeter:
        self._before, self._reaped = snapshot(), _reaped_cpu()
        self._t, self._stopped = time.perf_counter(), False
        return self

    def stop(self) -> None:
        """End the measurement now (before the engine's own processes are shut down)."""
        self.wall = time.perf_counter() - self._t
        used = spent(self._before, snapshot())
        self.on_cpu = sum(p.on_cpu for p in used.values()) + _reaped_cpu() - self._reaped
        self.queued = sum(p.queued for p in used.values())
        self._stopped = True

    def __exit__(self, *exc: object) -> None:
        if not self._stopped:
            self.stop()


def _reaped_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(usage.ru_utime + usage.ru_stime)
