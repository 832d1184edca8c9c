"""Node lists, fleet YAML and pod lists: what is read, and one-line errors with locations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autoscaler.simulator.gpu.errors import FleetInputError
from autoscaler.simulator.gpu.fleet import load_fleet, parse_memory_mib
from autoscaler.simulator.gpu.pods import load_pods


def test_openb_node_list_has_the_papers_cluster(openb_fleet) -> None:
    assert openb_fleet.size == 1523
    assert openb_fleet.total_gpus == 6212
    assert set(openb_fleet.models) == {"A10", "G2", "G3", "P100", "T4", "V100M16", "V100M32"}
    assert (openb_fleet.model_idx[openb_fleet.gpus == 0] == -1).all()


def test_yaml_fleet_expands_groups(tmp_path: Path) -> None:
    f = tmp_path / "fleet.yaml"
    f.write_text(
        "nodes:\n"
        "  - {name: v100, count: 16, gpus: 8, gpu_model: V100, cpus: 96, memory: 768GiB}\n"
        "  - {name: cpu, count: 2, cpu_milli: 64000, memory: 262144}\n"
        "partitions:\n"
        "  - {name: team-a, gpu_quota: 64}\n"
    )
    fleet = load_fleet(f)
    assert fleet.size == 18
    assert fleet.total_gpus == 128
    assert fleet.cpu_milli[0] == 96_000 and fleet.memory_mib[0] == 768 * 1024
    assert fleet.names[15] == "v100-0015" and fleet.gpu_model[16] == ""
    assert fleet.memory_mib[17] == 262_144
    assert fleet.partitions[0].name == "team-a" and fleet.partitions[0].gpu_quota == 64


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("nodes:\n  - {count: 2, gpus: 8, cpus: 96, memory: 1GiB}\n", "fleet.yaml:2: nodes[0]: "),
        (
            "nodes:\n  - name: a\n    cpus: 8\n    memory: lots\n",
            "fleet.yaml:4: nodes[0].memory: not a memory size",
        ),
        ("nodes:\n  - {cpus: 8, memory: 1GiB, colour: red}\n", "nodes[0].colour: unknown field"),
        ("nodes: []\n", "a non-empty list of node groups"),
        (
            "nodes:\n  - {cpus: 8, memory: 1GiB}\n  - {memory: 1GiB}\n",
            "fleet.yaml:3: nodes[1]: cpus",
        ),
        ("nodes: [\n", "not valid YAML"),
    ],
)
def test_yaml_fleet_errors_name_line_and_field(tmp_path: Path, body: str, expected: str) -> None:
    f = tmp_path / "fleet.yaml"
    f.write_text(body)
    with pytest.raises(FleetInputError) as err:
        load_fleet(f)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_memory_sizes() -> None:
    assert parse_memory_mib("768GiB") == 786_432
    assert parse_memory_mib("512 MiB") == 512
    assert parse_memory_mib(1024) == 1024
    assert parse_memory_mib("1TiB") == 1024 * 1024
    with pytest.raises(ValueError):
        parse_memory_mib("12 parsecs")


def test_node_csv_errors(tmp_path: Path) -> None:
    bad_cols = tmp_path / "n.csv"
    bad_cols.write_text("sn,cpu_milli,gpu\nx,1000,1\n")
    with pytest.raises(
        FleetInputError, match=r"n.csv:1: node list lacks column\(s\) memory_mib, model"
    ):
        load_fleet(bad_cols)
    bad_value = tmp_path / "v.csv"
    bad_value.write_text("sn,cpu_milli,memory_mib,gpu,model\na,1000,10,1,T4\nb,lots,10,1,T4\n")
    with pytest.raises(FleetInputError, match=r"v.csv:3: cpu_milli: not a number"):
        load_fleet(bad_value)
    no_model = tmp_path / "m.csv"
    no_model.write_text("sn,cpu_milli,memory_mib,gpu,model\na,1000,10,2,\n")
    with pytest.raises(FleetInputError, match=r"m.csv:2: model"):
        load_fleet(no_model)
    with pytest.raises(FleetInputError, match=r"must be \.csv"):
        load_fleet(tmp_path / "fleet.txt")
    with pytest.raises(FleetInputError, match=r"missing\.csv: no such file"):
        load_fleet(tmp_path / "missing.csv")


def test_default_pod_list(openb_pods) -> None:
    assert len(openb_pods) == 8152
    assert openb_pods.has_times
    assert set(openb_pods.qos) == {"LS", "BE", "Burstable", "Guaranteed"}
    cpu_only = openb_pods.num_gpu == 0
    assert (openb_pods.gpu_milli[cpu_only] == 0).all()
    assert (openb_pods.gpu_milli[openb_pods.num_gpu > 1] == 1000).all()
    assert (openb_pods.duration >= 0).all()


def test_five_column_multigpu_list_and_gpu_spec(data_dir: Path) -> None:
    multi = load_pods(data_dir / "openb_pod_list_multigpu50.csv")
    assert not multi.has_times
    assert set(multi.qos) == {"LS"}
    spec = load_pods(data_dir / "openb_pod_list_gpuspec33.csv")
    constrained = [s for s in spec.gpu_spec if s]
    assert constrained and all(isinstance(m, str) for s in constrained for m in s)
    assert ("P100", "V100M16") in spec.gpu_spec


def test_pod_list_errors(tmp_path: Path) -> None:
    head = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
    cases = {
        "cols.csv": ("name,cpu_milli\na,1\n", r"cols.csv:1: pod list lacks column"),
        "neg.csv": (head + "a,1,1,1,500\nb,-5,1,1,500\n", r"neg.csv:3: cpu_milli"),
        "milli.csv": (head + "a,1,1,1,1500\n", r"milli.csv:2: gpu_milli: must be 0..1,000"),
        "multi.csv": (head + "a,1,1,2,500\n", r"multi.csv:2: gpu_milli: a multi-GPU pod"),
        "empty.csv": (head, "has no pods"),
        "qos.csv": (head.strip() + ",qos\na,1,1,1,500,VIP\n", r"qos.csv:2: qos: unknown class"),
    }
    for name, (body, pattern) in cases.items():
        f = tmp_path / name
        f.write_text(body)
        with pytest.raises(FleetInputError, match=pattern):
            load_pods(f)
    with pytest.raises(FleetInputError, match="no such file"):
        load_pods(tmp_path / "absent.csv")


def test_take_repeats_pods(openb_pods) -> None:
    sub = openb_pods.take(np.array([3, 3, 0]))
    assert sub.names == (openb_pods.names[3], openb_pods.names[3], openb_pods.names[0])
    assert sub.cpu_milli[0] == openb_pods.cpu_milli[3]


POD_HEAD = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"  # fmt: skip


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("p,1e30,1,1,500,,LS,Running,0,10,0", ":2: cpu_milli: must be 0..10,000,000: '1e30'"),
        ("p,inf,1,1,500,,LS,Running,0,10,0", ":2: cpu_milli: not a finite number: 'inf'"),
        ("p,1,nan,1,500,,LS,Running,0,10,0", ":2: memory_mib: not a finite number: 'nan'"),
        ("p,1,1,-1,1000,,LS,Running,0,10,0", ":2: num_gpu: must be 0..8: '-1'"),
        ("p,1,1,16,1000,,LS,Running,0,10,0", ":2: num_gpu: must be 0..8: '16'"),
        ("p,1,1,1,500,,LS,Running,0,inf,0", ":2: deletion_time: must be a number of seconds"),
        ("p,1,1,1,500,,LS,Running,-5,10,0", ":2: creation_time: must be a number of seconds"),
    ],
)
def test_hostile_pod_values_are_one_line_with_row_and_field(
    tmp_path: Path, row: str, message: str
) -> None:
    f = tmp_path / "pods.csv"
    f.write_text(POD_HEAD + row + "\n")
    with pytest.raises(FleetInputError) as err:
        load_pods(f)
    assert str(err.value).startswith(f"{f}{message}"), str(err.value)


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("n.csv", "sn,cpu_milli,memory_mib,gpu,model\na,inf,1,1,V100\n", "n.csv:2: cpu_milli: not a finite"),
        ("n.csv", "sn,cpu_milli,memory_mib,gpu,model\na,1e30,1,1,V100\n", "n.csv:2: cpu_milli: must be 0..10,000,000"),
        ("n.csv", "sn,cpu_milli,memory_mib,gpu,model\na,1,1,-2,V100\n", "n.csv:2: gpu: must be 0..8"),
        ("f.yaml", "nodes:\n  - {gpus: 8, gpu_model: V, cpus: .inf, memory: 1GiB}\n", "f.yaml:2: nodes[0].cpus: not a finite"),
        ("f.yaml", "nodes:\n  - {gpus: 8, gpu_model: V, cpus: 8, memory: .nan}\n", "f.yaml:2: nodes[0].memory: not a finite"),
        ("f.yaml", "nodes:\n  - {count: 100000000000, cpus: 8, memory: 1GiB}\n", "f.yaml:2: nodes[0].count: must be >= 1 and"),
        ("f.yaml", "nodes:\n  - {count: -3, cpus: 8, memory: 1GiB}\n", "f.yaml:2: nodes[0].count: must be >= 1"),
        ("f.yaml", "nodes:\n  - {cpus: 8, memory: 1GiB}\npartitions:\n  - {name: a, gpu_quota: .inf}\n", "f.yaml:4: partitions[0].gpu_quota: not a finite"),
        ("f.yaml", "nodes:\n  - {cpus: 8, cpus: 9, memory: 1GiB}\n", "f.yaml:2: not valid YAML: duplicate key 'cpus'"),
        ("f.yaml", "\ufeffnodes: []\n".encode("utf-16"), "f.yaml: is UTF-16 text"),
        ("n.csv", b"sn,cpu\x00\x01", "n.csv: binary content"),
    ],
)  # fmt: skip
def test_hostile_fleet_files_are_one_line_with_line_and_field(
    tmp_path: Path, name: str, body: str | bytes, message: str
) -> None:
    f = tmp_path / name
    f.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(FleetInputError) as err:
        load_fleet(f)
    assert str(err.value).startswith(f"{tmp_path}/{message}"), str(err.value)
    assert "\n" not in str(err.value)


def test_a_fleet_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    from tests.unit.hostile.test_cases import BOMB

    f = tmp_path / "f.yaml"
    f.write_text(BOMB)
    with pytest.raises(FleetInputError, match="alias"):
        load_fleet(f)


def test_a_pod_larger_than_every_node_is_named(tmp_path: Path) -> None:
    from autoscaler.simulator.gpu.pods import check_pods_fit

    nodes = tmp_path / "n.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,8000,1024,8,V\nb,64000,4096,0,\n")
    pods = tmp_path / "p.csv"
    pods.write_text(POD_HEAD + "ok,60000,4000,0,0,,LS,R,0,1,0\nbig,9000,100,8,1000,,LS,R,0,1,0\n")
    with pytest.raises(FleetInputError) as err:
        check_pods_fit(load_pods(pods), load_fleet(nodes), pods)
    assert str(err.value).startswith(f"{pods}:3: cpu_milli: pod 'big'"), str(err.value)
    pods.write_text(POD_HEAD + "ok,60000,4000,0,0,,LS,R,0,1,0\nok2,8000,1024,8,1000,,LS,R,0,1,0\n")
    check_pods_fit(load_pods(pods), load_fleet(nodes), pods)  # each fits one node
