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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

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


def _check_node(where: str, cpu: int, mem: int, gpus: int, model: str) -> None:
    if cpu <= 0:
        raise FleetInputError(f"{where}: cpu must be > 0, got {cpu}")
    if mem <= 0:
        raise FleetInputError(f"{where}: memory must be > 0, got {mem}")
    if not 0 <= gpus <= MAX_GPUS_PER_NODE:
        raise FleetInputError(f"{where}: gpu must be 0..{MAX_GPUS_PER_NODE}, got {gpus}")
    if gpus > 0 and not model:
        raise FleetInputError(f"{where}: model: a node with GPUs needs a GPU model")


def load_node_csv(path: str | Path) -> Fleet:
    """Read an openb node list. Raises ``FleetInputError`` (missing file, bad columns,
    bad values) naming file, line and column. An empty list is an error."""
    p = Path(path)
    try:
        handle = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise FleetInputError(f"{p}: cannot read node list: {exc.strerror or exc}") from None
    rows: list[tuple[str, int, int, int, str]] = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in NODE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FleetInputError(f"{p}:1: node list lacks column(s) {', '.join(missing)}")
        for line, rec in enumerate(reader, start=2):
            values: dict[str, int] = {}
            for col in ("cpu_milli", "memory_mib", "gpu"):
                try:
                    values[col] = int(float(rec[col] or "0"))
                except ValueError:
                    raise FleetInputError(
                        f"{p}:{line}: {col}: not a number: {rec[col]!r}"
                    ) from None
            model = (rec["model"] or "").strip()
            _check_node(
                f"{p}:{line}", values["cpu_milli"], values["memory_mib"], values["gpu"], model
            )
            rows.append(
                (rec["sn"], values["cpu_milli"], values["memory_mib"], values["gpu"], model)
            )
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

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


_GROUP_KEYS = {"name", "count", "gpus", "gpu_model", "cpus", "cpu_milli", "memory", "memory_mib"}


def load_fleet_yaml(path: str | Path) -> Fleet:
    """Read the YAML fleet form (see the module doc). Raises ``FleetInputError``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        lines = _yaml_lines(text)
    except OSError as exc:
        raise FleetInputError(f"{p}: cannot read fleet file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise FleetInputError(f"{where}: not valid YAML") from None

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
        try:
            count = int(group.get("count", 1))
        except (TypeError, ValueError):
            raise fail((*at, "count"), "must be an integer") from None
        if count < 1:
            raise fail((*at, "count"), "must be >= 1")
        try:
            if "cpu_milli" in group:
                cpu = int(group["cpu_milli"])
            else:
                cpu = int(float(group["cpus"]) * MILLI)
        except KeyError:
            raise fail(at, "cpus (cores) or cpu_milli is required") from None
        except (TypeError, ValueError):
            raise fail((*at, "cpus"), "must be a number") from None
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
            quota = float(part["gpu_quota"])
        except (TypeError, ValueError):
            raise fail((*at, "gpu_quota"), "must be a number") from None
        if quota < 0:
            raise fail((*at, "gpu_quota"), "must be >= 0")
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
