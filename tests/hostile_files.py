"""Hostile inputs for the file surfaces: GPU fleet and pod files, VM trace folders and
the model store (the shared values are in ``tests/hostile_surfaces.py``). Used by
``tests/unit/hostile`` and ``bench/fuzz.py`` like the rest."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from autoscaler.traces import TraceError
from tests.hostile_surfaces import JSON, NUMBERS, RAW_FILES, SCALARS, TEXT

# ---------------------------------------------------------------- GPU fleet files

FLEET_NUMBERS = st.one_of(NUMBERS, st.integers(-(10**20), 10**20).map(str), st.just("1e30"))
NODE_CSV = st.lists(st.tuples(TEXT, FLEET_NUMBERS, FLEET_NUMBERS, FLEET_NUMBERS, TEXT), max_size=6).map(
    lambda rows: "sn,cpu_milli,memory_mib,gpu,model\n" + "\n".join(",".join(r) for r in rows)
)  # fmt: skip
POD_CSV = st.lists(st.tuples(*[FLEET_NUMBERS] * 6), max_size=6).map(
    lambda rows: (
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time,deletion_time\n"
        + "\n".join("p," + ",".join(r) for r in rows)
    )
)
FLEET_YAML = st.fixed_dictionaries(
    {"nodes": st.lists(st.dictionaries(
        st.sampled_from(["name", "count", "gpus", "gpu_model", "cpus", "cpu_milli", "memory"]),
        SCALARS, max_size=6), max_size=3)},
    optional={"partitions": st.lists(st.dictionaries(st.sampled_from(["name", "gpu_quota"]), SCALARS))},
).map(lambda d: yaml.safe_dump(d, allow_unicode=True))  # fmt: skip
FLEET_FILES = st.one_of(
    st.tuples(st.just("n.csv"), NODE_CSV.map(str.encode)),
    st.tuples(st.just("f.yaml"), FLEET_YAML.map(str.encode)),
    st.tuples(st.just("p.csv"), POD_CSV.map(str.encode)),
    st.tuples(st.sampled_from(["n.csv", "f.yaml", "p.csv"]), RAW_FILES),
)


def check_fleet_file(path: Path) -> None:
    """A fleet or pod list, or one ``FleetInputError`` line that starts with the path;
    a fleet and a pod list that load together also pass or fail the fit check so."""
    from autoscaler.simulator.gpu.errors import FleetInputError
    from autoscaler.simulator.gpu.fleet import load_fleet
    from autoscaler.simulator.gpu.pods import check_pods_fit, load_pods

    try:
        if path.name == "p.csv":
            pods = load_pods(path)
            nodes = path.parent / "fleet.yaml"
            nodes.write_text(
                "nodes:\n  - {count: 2, gpus: 8, gpu_model: V100, cpus: 96, memory: 768GiB}\n"
            )
            fleet = load_fleet(nodes)
            check_pods_fit(pods, fleet, path)
        else:
            load_fleet(path)
    except FleetInputError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert "\n" not in str(exc), str(exc)


# ---------------------------------------------------------------- VM trace folders

VM_MEMBERS = st.lists(
    st.tuples(
        st.text(alphabet=string.ascii_letters + string.digits + " -_.", min_size=1, max_size=12),
        st.one_of(st.lists(NUMBERS, max_size=12).map(lambda v: "\n".join(v).encode()), RAW_FILES),
    ),
    max_size=4,
)
VM_DIRS = st.one_of(
    VM_MEMBERS.map(lambda m: ("dir", m)), st.just(("file", [])), st.just(("missing", []))
)


def make_vm_dir(root: Path, case: tuple[str, list[tuple[str, bytes]]]) -> Path:
    """A ``--vms`` folder (or a file, or nothing) under ``root`` as ``case`` says."""
    kind, members = case
    d = root / "vms"
    if kind == "file":
        d.write_text("12\n")
    elif kind == "dir":
        d.mkdir()
        for name, body in members:
            if name not in (".", ".."):
                (d / name).write_bytes(body)
    return d


def check_vm_dir(path: Path) -> None:
    """VM traces, or one ``TraceError`` line that starts with the folder's path."""
    from autoscaler.simulator.vm_replay import load_vm_traces

    try:
        traces = load_vm_traces(path)
    except TraceError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert "\n" not in str(exc), str(exc)
    else:
        assert traces.cpu.shape[0] == len(traces.names) >= 1


# ---------------------------------------------------------------- the model store

# Globals a hostile payload may name; none may be imported, let alone called.
FORBIDDEN_GLOBALS = [
    ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
    ("subprocess", "Popen"), ("builtins", "__import__"), ("importlib", "import_module"),
    ("builtins", "getattr"), ("autoscaler.forecasters.store", "ModelStore"),
    ("autoscaler.forecasters.registry", "_private"), ("numpy", "load"), ("pandas", "read_pickle"),
]  # fmt: skip
STORE_CASES = st.one_of(
    st.tuples(st.just("root is a file"), st.just(b"")),
    st.tuples(st.just("root under a file"), st.just(b"")),
    st.tuples(st.just("meta json"), JSON.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("meta fields"), st.dictionaries(
        st.sampled_from(["name", "version", "kind", "params", "trained_from", "trained_to",
                         "libraries", "sha256", "format_version", "extra"]),
        SCALARS | JSON, max_size=10).map(lambda d: json.dumps(d, default=str).encode())),
    st.tuples(st.just("meta bytes"), RAW_FILES),
    st.tuples(st.just("current"), RAW_FILES | st.sampled_from([b"../../etc", b"v999999", b"v000001\n\n"])),
    st.tuples(st.just("truncate"), st.integers(0, 400).map(lambda n: n.to_bytes(2, "big"))),
    st.tuples(st.just("flip"), st.integers(0, 400).map(lambda n: n.to_bytes(2, "big"))),
    st.tuples(st.just("global"), st.sampled_from(range(len(FORBIDDEN_GLOBALS))).map(lambda i: bytes([i]))),
    st.tuples(st.just("payload"), st.binary(max_size=200)),
)  # fmt: skip


_STORE_TEMPLATE: list[Path] = []


def saved_store(root: Path) -> Any:
    """A model store under ``root`` holding one fitted model, ``web`` (``v000001``);
    fitted once per process and copied after that."""
    import shutil

    from autoscaler.forecasters.store import ModelStore

    if not _STORE_TEMPLATE:
        import tempfile

        import pandas as pd

        from autoscaler.durations import parse_duration
        from autoscaler.forecasters.registry import build_forecaster

        step = parse_duration("5m")
        idx = pd.date_range("2024-01-01", periods=48, freq=step, tz="UTC")
        model = build_forecaster("naive", step).fit(pd.Series(range(48), index=idx, dtype=float))
        template = Path(tempfile.mkdtemp(prefix="store-template-")) / "models"
        ModelStore(template).save("web", model)
        _STORE_TEMPLATE.append(template)
    shutil.copytree(_STORE_TEMPLATE[0], root)
    return ModelStore(root)


def spoil_store(store: Any, case: tuple[str, bytes], marker: Path) -> Any:
    """``store`` (or a store at a spoiled root) after the damage ``case`` names; a
    forbidden global's payload would create ``marker`` if it ran."""
    import hashlib

    from autoscaler.forecasters.store import ModelStore

    kind, data = case
    version = store.root / "web" / "v000001"
    if kind == "root is a file":
        root = store.root.parent / "file-root"
        root.write_text("x")
        return ModelStore(root)
    if kind == "root under a file":
        (store.root.parent / "f").write_text("x")
        return ModelStore(store.root.parent / "f" / "models")
    if kind in ("meta json", "meta fields", "meta bytes"):
        (version / "meta.json").write_bytes(data)
        return store
    if kind == "current":
        (store.root / "web" / "CURRENT").write_bytes(data)
        return store
    payload = (version / "model.pkl").read_bytes()
    n = int.from_bytes(data, "big") if kind in ("truncate", "flip") else 0
    if kind == "truncate":
        payload = payload[: n % max(len(payload), 1)]
    elif kind == "flip":
        i = n % len(payload)
        payload = payload[:i] + bytes([payload[i] ^ 0x5A]) + payload[i + 1 :]
    elif kind == "global":
        module, name = FORBIDDEN_GLOBALS[data[0]]
        payload = f"c{module}\n{name}\n(S'touch {marker}'\ntR.".encode()
    else:
        payload = data
    (version / "model.pkl").write_bytes(payload)
    if kind in ("global", "payload") or data[-1:] == b"\x01":  # the checksum fixed up too
        meta = json.loads((version / "meta.json").read_text())
        meta["sha256"] = hashlib.sha256(payload).hexdigest()
        (version / "meta.json").write_text(json.dumps(meta))
    return store


def check_store(store: Any, marker: Path) -> None:
    """Loading gives our model or one ``ModelStoreError`` line; nothing is executed."""
    from autoscaler.forecasters.base import BaseForecaster
    from autoscaler.forecasters.store import ModelStoreError

    try:
        model, _ = store.load("web")
    except ModelStoreError as exc:
        assert str(exc) and "\n" not in str(exc), str(exc)
    else:
        assert isinstance(model, BaseForecaster)
    assert not marker.exists(), "a stored payload ran code"
