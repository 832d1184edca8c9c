"""The workload: pods read from an openb pod list, as parallel numpy arrays.

Columns: ``name,cpu_milli,memory_mib,num_gpu,gpu_milli`` always; ``gpu_spec,qos,
pod_phase,creation_time,deletion_time,scheduled_time`` where present (the multigpu
variants have only the first five). ``gpu_milli`` is per GPU: a pod asks for a
fraction of one GPU (``num_gpu == 1``, ``gpu_milli < 1000``) or whole GPUs
(``gpu_milli == 1000``). ``gpu_spec`` lists allowed GPU models separated by ``|``
(empty: any). Times are seconds from the trace start.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from autoscaler.limits import MAX_NODE_CPU_MILLI, MAX_NODE_MEMORY_MIB, MAX_POD_SECONDS
from autoscaler.simulator.gpu.errors import FleetInputError
from autoscaler.simulator.gpu.fleet import MAX_GPUS_PER_NODE, Fleet, read_input_text

REQUIRED_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
QOS_CLASSES = ("LS", "Guaranteed", "Burstable", "BE")
# Lower runs first under the priority scheduler; only BE may be preempted.
QOS_PRIORITY = {"LS": 0, "Guaranteed": 0, "Burstable": 1, "BE": 2}


@dataclass(frozen=True, slots=True, eq=False)
class PodTable:
    """Pods in trace order. ``gpu_milli`` is 0 for CPU-only pods; ``creation``/``duration``
    are NaN where the trace has no times; ``gpu_spec`` holds allowed model tuples
    (empty tuple: any model)."""

    names: tuple[str, ...]
    cpu_milli: np.ndarray
    memory_mib: np.ndarray
    num_gpu: np.ndarray
    gpu_milli: np.ndarray
    gpu_spec: tuple[tuple[str, ...], ...]
    qos: tuple[str, ...]
    creation: np.ndarray
    duration: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    @property
    def total_gpu_milli(self) -> np.ndarray:
        """GPU milli each pod asks for in all (``num_gpu * gpu_milli``)."""
        return self.num_gpu * self.gpu_milli

    @property
    def has_times(self) -> bool:
        return bool(len(self)) and not np.isnan(self.creation).any()

    def take(self, idx: np.ndarray) -> PodTable:
        """The pods at ``idx`` (repeats allowed), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return PodTable(
            names=tuple(self.names[i] for i in idx),
            cpu_milli=self.cpu_milli[idx],
            memory_mib=self.memory_mib[idx],
            num_gpu=self.num_gpu[idx],
            gpu_milli=self.gpu_milli[idx],
            gpu_spec=tuple(self.gpu_spec[i] for i in idx),
            qos=tuple(self.qos[i] for i in idx),
            creation=self.creation[idx],
            duration=self.duration[idx],
        )


_RANGES = {
    "cpu_milli": MAX_NODE_CPU_MILLI,
    "memory_mib": MAX_NODE_MEMORY_MIB,
    "num_gpu": MAX_GPUS_PER_NODE,
    "gpu_milli": 1000,
}


def _bad_row(p: Path, df: pd.DataFrame, mask: np.ndarray, column: str, why: str) -> FleetInputError:
    row = int(np.flatnonzero(mask)[0])
    return FleetInputError(f"{p}:{row + 2}: {column}: {why}: {df[column].iloc[row]!r}")


def load_pods(path: str | Path) -> PodTable:
    """Read an openb pod list. Raises ``FleetInputError`` naming file, line and column
    for a missing file, a missing column or a bad value; an empty list is an error."""
    p = Path(path)
    text = read_input_text(p, "pod list")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise FleetInputError(f"{p}: pod list is empty") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise FleetInputError(f"{p}: cannot read pod list: {str(exc).splitlines()[0]}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise FleetInputError(f"{p}:1: pod list lacks column(s) {', '.join(missing)}")
    if df.empty:
        raise FleetInputError(f"{p}: pod list has no pods")
    ints: dict[str, np.ndarray] = {}
    for col, hi in _RANGES.items():
        num = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(num)
        if bad.any():
            raise _bad_row(p, df, bad, col, "not a finite number")
        bad = (num < 0) | (num > hi)
        if bad.any():
            raise _bad_row(p, df, bad, col, f"must be 0..{hi:,}")
        ints[col] = num.astype(np.int64)
    num_gpu, gpu_milli = ints["num_gpu"], ints["gpu_milli"]
    gpu_milli = np.where(num_gpu == 0, 0, gpu_milli)
    bad = (num_gpu > 0) & ((gpu_milli <= 0) | (gpu_milli > 1000))
    if bad.any():
        raise _bad_row(p, df, bad, "gpu_milli", "must be 1..1000 for a GPU pod")
    bad = (num_gpu > 1) & (gpu_milli != 1000)
    if bad.any():
        raise _bad_row(p, df, bad, "gpu_milli", "a multi-GPU pod must ask for whole GPUs (1000)")
    n = len(df)
    spec_col = df["gpu_spec"] if "gpu_spec" in df.columns else pd.Series([""] * n)
    specs = tuple(tuple(s for s in str(v).split("|") if s) for v in spec_col)
    qos_col = df["qos"] if "qos" in df.columns else pd.Series(["LS"] * n)
    qos = tuple(str(q) or "LS" for q in qos_col)
    bad = np.array([q not in QOS_PRIORITY for q in qos])
    if bad.any():
        raise FleetInputError(
            f"{p}:{int(np.flatnonzero(bad)[0]) + 2}: qos: unknown class "
            f"{qos[int(np.flatnonzero(bad)[0])]!r} (expected one of {', '.join(QOS_CLASSES)})"
        )
    if "creation_time" in df.columns and "deletion_time" in df.columns:
        created = pd.to_numeric(df["creation_time"], errors="coerce").to_numpy(dtype=float)
        deleted = pd.to_numeric(df["deletion_time"], errors="coerce").to_numpy(dtype=float)
        for col, values in (("creation_time", created), ("deletion_time", deleted)):
            bad = ~np.isfinite(values) | (values < 0) | (values > MAX_POD_SECONDS)
            if bad.any():
                raise _bad_row(
                    p, df, bad, col, f"must be a number of seconds 0..{MAX_POD_SECONDS:.0e}"
                )
        duration = deleted - created
        bad = duration < 0
        if bad.any():
            raise _bad_row(p, df, bad, "deletion_time", "before creation_time")
    else:
        created = np.full(n, np.nan)
        duration = np.full(n, np.nan)
    return PodTable(
        names=tuple(df["name"].astype(str)),
        cpu_milli=ints["cpu_milli"],
        memory_mib=ints["memory_mib"],
        num_gpu=num_gpu,
        gpu_milli=gpu_milli,
        gpu_spec=specs,
        qos=qos,
        creation=created,
        duration=duration,
    )


def check_pods_fit(pods: PodTable, fleet: Fleet, where: str | Path) -> None:
    """Raises ``FleetInputError`` naming the pod list's line of the first pod that no
    node of ``fleet`` could hold even when empty (CPU, memory and GPUs together), so
    that such a pod is not dropped without a word."""
    shapes = np.unique(np.stack([fleet.cpu_milli, fleet.memory_mib, fleet.gpus], axis=1), axis=0)
    fits = np.zeros(len(pods), dtype=bool)
    for cpu, mem, gpus in shapes:
        fits |= (pods.cpu_milli <= cpu) & (pods.memory_mib <= mem) & (pods.num_gpu <= gpus)
    if fits.all():
        return
    i = int(np.flatnonzero(~fits)[0])
    field = next(
        (name for name, need, have in (
            ("num_gpu", pods.num_gpu[i], fleet.gpus.max()),
            ("cpu_milli", pods.cpu_milli[i], fleet.cpu_milli.max()),
            ("memory_mib", pods.memory_mib[i], fleet.memory_mib.max()),
        ) if need > have),
        "cpu_milli",
    )  # fmt: skip
    raise FleetInputError(
        f"{where}:{i + 2}: {field}: pod {pods.names[i]!r} (cpu_milli {pods.cpu_milli[i]}, "
        f"memory_mib {pods.memory_mib[i]}, num_gpu {pods.num_gpu[i]}) fits no node of the fleet"
    )
