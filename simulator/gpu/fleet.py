"""The physical fleet: nodes with CPU (milli-cores), memory (MiB) and GPUs of one model.

Two input forms:

* the openb node-list CSV (``sn,cpu_milli,memory_mib,gpu,model``), one row a node;
* a YAML file of node groups, e.g. "16 nodes x 8 V100, 96 CPUs, 768 GiB"::

      nodes:
        - {name: v100, count: 16, gpus: 8, gpu_model: V100, cpus: 96, memory: 768GiB}
        - {name: cpu, count: 4, cpus: 64, memory: 256GiB}
      partitions:                       # optional: tenants with GPU quotas
        - {name: team-a, gpu_quota: 64}

``cpus`` is in cores (``cpu_milli`` may be given instead), ``memory`` takes a unit
(MiB, GiB, TiB; a bare number is MiB). Every problem raises ``FleetInputError`` with
the file, line and field.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from autoscaler.input_errors import InputError
from autoscaler.input_files import MAX_TRACE_BYTES, read_text_file
from autoscaler.limits import MAX_HOSTS, MAX_NODE_CPU_MILLI, MAX_NODE_MEMORY_MIB
from autoscaler.safe_yaml import compose_yaml, load_yaml
from autoscaler.simulator.gpu.errors import FleetInputError

MILLI = 1000
MAX_GPUS_PER_NODE = 8
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")


@dataclass(frozen=True, slots=True)
class Partition:
    """A tenant / virtual cluster allowed at most ``gpu_quota`` GPUs at once."""

    name: str
    gpu_quota: float


@dataclass(frozen=True, slots=True, eq=False)
class Fleet:
    """Node capacities as parallel arrays (index = node id). Read-only by convention.

    ``gpu_model`` is ``""`` for nodes without GPUs; ``models`` lists the distinct GPU
    models and ``model_idx`` maps each node into it (-1 for no GPU).
    """

    names: tuple[str, ...]
    cpu_milli: np.ndarray
    memory_mib: np.ndarray
    gpus: np.ndarray
    gpu_model: tuple[str, ...]
    partitions: tuple[Partition, ...] = ()

    @property
    def size(self) -> int:
        return len(self.names)

    @property
    def total_gpus(self) -> int:
        return int(self.gpus.sum())

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(sorted({m for m in self.gpu_model if m}))

    @property
    def model_idx(self) -> np.ndarray:
        index = {m: i for i, m in enumerate(self.models)}
        return np.array([index.get(m, -1) for m in self.gpu_model], dtype=np.int64)


def _build(rows: list[tuple[str, int, int, int, str]], partitions: tuple[Partition, ...]) -> Fleet:
    return Fleet(
        names=tuple(r[0] for r in rows),
        cpu_milli=np.array([r[1] for r in rows], dtype=np.int64),
        memory_mib=np.array([r[2] for r in rows], dtype=np.int64),
        gpus=np.array([r[3] for r in rows], dtype=np.int64),
        gpu_model=tuple(r[4] for r in rows),
        partitions=partitions,
    )


def bounded_int(value: Any, hi: float) -> int:
    """``value`` (a number or its text) as an int in 0..``hi``. Raises ValueError
    saying why: not a number, not finite, negative or above ``hi``."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    if not math.isfinite(num):
        raise ValueError(f"not a finite number: {value!r}")
    if not 0 <= num <= hi:
        raise ValueError(f"must be 0..{hi:,.0f}, got {value!r}")
    return int(num)


def read_input_text(path: Path, what: str) -> str:
    """The text of a fleet input file (bounded, UTF-8). Raises ``FleetInputError``."""
    try:
        return read_text_file(path, what=what, max_bytes=MAX_TRACE_BYTES)
    except InputError as exc:
        raise FleetInputError(str(exc)) from None


def _check_node(where: str, cpu: int, mem: int, gpus: int, model: str) -> None:
    if not 0 < cpu <= MAX_NODE_CPU_MILLI:
        raise FleetInputError(
            f"{where}: cpu must be > 0 and <= {MAX_NODE_CPU_MILLI:,} milli, got {cpu}"
        )
    if not 0 < mem <= MAX_NODE_MEMORY_MIB:
        raise FleetInputError(
            f"{where}: memory must be > 0 and <= {MAX_NODE_MEMORY_MIB:,} MiB, got {mem}"
        )
    if not 0 <= gpus <= MAX_GPUS_PER_NODE:
        raise FleetInputError(f"{where}: gpu must be 0..{MAX_GPUS_PER_NODE}, got {gpus}")
    if gpus > 0 and not model:
        raise FleetInputError(f"{where}: model: a node with GPUs needs a GPU model")


_NODE_RANGES = {
    "cpu_milli": MAX_NODE_CPU_MILLI,
    "memory_mib": MAX_NODE_MEMORY_MIB,
    "gpu": MAX_GPUS_PER_NODE,
}


def load_node_csv(path: str | Path) -> Fleet:
    """Read an openb node list. Raises ``FleetInputError`` (missing file, bad columns,
    bad values) naming file, line and column. An empty list is an error."""
    p = Path(path)
    text = read_input_text(p, "node list")
    rows: list[tuple[str, int, int, int, str]] = []
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in NODE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FleetInputError(f"{p}:1: node list lacks column(s) {', '.join(missing)}")
    try:
        for rec in reader:
            line = reader.line_num
            if len(rows) >= MAX_HOSTS:
                raise FleetInputError(f"{p}:{line}: more than {MAX_HOSTS:,} nodes")
            values: dict[str, int] = {}
            for col, hi in _NODE_RANGES.items():
                try:
                    values[col] = bounded_int(rec[col] or "0", hi)
                except ValueError as exc:
                    raise FleetInputError(f"{p}:{line}: {col}: {exc}") from None
            model = (rec["model"] or "").strip()
            _check_node(
                f"{p}:{line}", values["cpu_milli"], values["memory_mib"], values["gpu"], model
            )
            rows.append(
                (rec["sn"], values["cpu_milli"], values["memory_mib"], values["gpu"], model)
            )
    except csv.Error as exc:
        raise FleetInputError(f"{p}:{reader.line_num}: not a CSV node list: {exc}") from None
    if not rows:
        raise FleetInputError(f"{p}: node list has no nodes")
    return _build(rows, ())


_MEM_UNITS = {
    "mib": 1,
    "mi": 1,
    "m": 1,
    "gib": 1024,
    "gi": 1024,
    "g": 1024,
    "tib": 1024**2,
    "t": 1024**2,
}


def parse_memory_mib(value: Any) -> int:
    """``"768GiB"``, ``"512 MiB"``, ``1024`` (MiB) -> MiB. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"not a memory size: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite memory size: {value!r}")
        return int(value)
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).lower() not in {*_MEM_UNITS, ""}:
        raise ValueError(f"not a memory size (e.g. 768GiB): {value!r}")
    return int(float(m.group(1)) * _MEM_UNITS.get(m.group(2).lower(), 1))


def _yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """1-based line of every key/index path in the YAML document."""
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, key.value))
                lines[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = compose_yaml(text, "")
    if root is not None:
        walk(root, ())
    return lines


_GROUP_KEYS = {"name", "count", "gpus", "gpu_model", "cpus", "cpu_milli", "memory", "memory_mib"}


def load_fleet_yaml(path: str | Path) -> Fleet:
    """Read the YAML fleet form (see the module doc). Raises ``FleetInputError``."""
    p = Path(path)
    text = read_input_text(p, "fleet file")
    try:
        data = load_yaml(text, str(p))  # bounds aliases, refuses duplicate keys
        lines = _yaml_lines(text)
    except InputError as exc:
        raise FleetInputError(str(exc).replace("invalid YAML", "not valid YAML")) from None

    def fail(path_: tuple[Any, ...], msg: str) -> FleetInputError:
        line = next((lines[path_[:n]] for n in range(len(path_), -1, -1) if path_[:n] in lines), 0)
        field = ".".join(f"[{x}]" if isinstance(x, int) else str(x) for x in path_).replace(
            ".[", "["
        )
        return FleetInputError(f"{p}:{line}: {field}: {msg}")

    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not data["nodes"]:
        raise fail(("nodes",), "a non-empty list of node groups is required")
    unknown_top = set(data) - {"nodes", "partitions"}
    if unknown_top:
        raise fail((sorted(unknown_top)[0],), "unknown field")
    rows: list[tuple[str, int, int, int, str]] = []
    for i, group in enumerate(data["nodes"]):
        at = ("nodes", i)
        if not isinstance(group, dict):
            raise fail(at, "must be a mapping")
        for key in group:
            if key not in _GROUP_KEYS:
                raise fail((*at, key), "unknown field")
        count = group.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool):
            raise fail((*at, "count"), "must be an integer")
        if not 1 <= count <= MAX_HOSTS - len(rows):
            raise fail((*at, "count"), f"must be >= 1 and the fleet at most {MAX_HOSTS:,} nodes")
        key = "cpu_milli" if "cpu_milli" in group else "cpus"
        if key not in group:
            raise fail(at, "cpus (cores) or cpu_milli is required")
        try:
            cpu = bounded_int(group[key], MAX_NODE_CPU_MILLI / (1 if key == "cpu_milli" else MILLI))
        except ValueError as exc:
            raise fail((*at, key), str(exc)) from None
        if key == "cpus":
            cpu = int(float(group[key]) * MILLI)
        try:
            mem = parse_memory_mib(group.get("memory", group.get("memory_mib")))
        except ValueError as exc:
            raise fail((*at, "memory"), str(exc)) from None
        gpus = group.get("gpus", 0)
        if not isinstance(gpus, int) or isinstance(gpus, bool):
            raise fail((*at, "gpus"), "must be an integer")
        model = str(group.get("gpu_model") or "")
        name = str(group.get("name", f"group{i}"))
        try:
            _check_node("x", cpu, mem, gpus, model)
        except FleetInputError as exc:
            raise fail(at, str(exc).split(": ", 1)[1]) from None
        rows.extend((f"{name}-{j:04d}", cpu, mem, gpus, model) for j in range(count))
    partitions = []
    for i, part in enumerate(data.get("partitions") or []):
        at = ("partitions", i)
        if not isinstance(part, dict) or "name" not in part or "gpu_quota" not in part:
            raise fail(at, "needs name and gpu_quota")
        try:
            quota = float(bounded_int(part["gpu_quota"], 8 * MAX_HOSTS))
            quota = float(part["gpu_quota"])
        except ValueError as exc:
            raise fail((*at, "gpu_quota"), str(exc)) from None
        partitions.append(Partition(str(part["name"]), quota))
    return _build(rows, tuple(partitions))


def load_fleet(path: str | Path) -> Fleet:
    """A fleet from a ``.csv`` node list or a ``.yaml``/``.yml`` file."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_fleet_yaml(path)
    if suffix == ".csv":
        return load_node_csv(path)
    raise FleetInputError(f"{path}: fleet file must be .csv (openb node list) or .yaml")
