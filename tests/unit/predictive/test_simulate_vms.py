"""``autoscaler simulate --vms DIR``: per-VM trace replay through the real command."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from autoscaler.commands import load_command
from tests.hostile_surfaces import check_user_error, run_cli


def command() -> click.Command:
    command = load_command("simulate")
    assert command is not None
    return command


@pytest.fixture()
def vm_dir(tmp_path: Path, shared_data: Path) -> Path:
    """Twenty real PlanetLab traces, two of them under names with spaces."""
    src = sorted((shared_data / "planetlab" / "20110303").iterdir())[:20]
    d = tmp_path / "vms"
    d.mkdir()
    for i, p in enumerate(src):
        name = f"vm number {i}" if i < 2 else p.name
        (d / name).write_text(p.read_text())
    return d


def test_run_vms_prints_table_and_writes_summary(vm_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        command(), ["--vms", str(vm_dir), "--out", str(out), "--hosts", "6"]
    )
    assert result.exit_code == 0, result.output
    for name in ("spread", "pack", "interference_aware"):
        assert name in result.output
    summary = json.loads((out / "vms_summary.json").read_text())
    assert summary["vms"] == 20 and summary["hosts"] == 6
    pols = summary["policies"]
    assert set(pols) == {"spread", "pack", "interference_aware"}
    for row in pols.values():
        assert row["placed"] == 20
        for key in (
            "hosts_used_mean",
            "hosts_used_peak",
            "overload_minutes",
            "vm_minutes_affected",
            "moved",
            "moved_off_hot",
            "consolidated",
            "hosts_drained",
        ):
            assert key in row
    assert pols["pack"]["hosts_used_mean"] <= pols["spread"]["hosts_used_mean"]
    ia = pols["interference_aware"]
    assert ia["moved"] == ia["moved_off_hot"] + ia["consolidated"]
    assert pols["pack"]["consolidated"] == pols["spread"]["consolidated"] == 0
    assert summary["consolidate_below"] == 0.7 and summary["consolidate_max_moves"] == 32
    assert "drains the least-loaded hosts onto others kept under 70%" in result.output


def test_consolidation_off_and_its_target_from_the_config(vm_dir: Path, tmp_path: Path) -> None:
    args = ["--vms", str(vm_dir), "--hosts", "6", "--placement", "interference_aware"]
    off = CliRunner().invoke(command(), [*args, "--no-consolidate", "--out", str(tmp_path / "a")])
    assert off.exit_code == 0, off.output
    assert "consolidation off" in off.output
    summary = json.loads((tmp_path / "a" / "vms_summary.json").read_text())
    assert summary["consolidate_below"] is None
    assert summary["policies"]["interference_aware"]["consolidated"] == 0
    cfg = tmp_path / "c.yaml"
    cfg.write_text("placement: {consolidate_below: 0.5, consolidate_max_moves: 4}\n")
    on = CliRunner().invoke(command(), [*args, "--config", str(cfg)])
    assert on.exit_code == 0, on.output
    assert "kept under 50% (at most 4 such moves each time)" in on.output


def test_run_vms_with_config_hosts_and_one_policy(vm_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "hosts:\n  - {prefix: big, count: 2, vcpus: 16, ram_mb: 131072, cpu_allocation_ratio: 2}\n"
        "placement: {contention_threshold: 0.7}\n"
    )
    result = CliRunner().invoke(
        command(), ["--vms", str(vm_dir), "--config", str(cfg), "--placement", "pack"]
    )
    assert result.exit_code == 0, result.output
    assert "2 hosts" in result.output and "70%" in result.output
    assert "interference_aware" not in result.output


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (lambda d: (d / "bad").write_text("12\n1x\n"), [], "bad:2: '1x' is not a number"),
        (
            lambda d: (d / "neg").write_text("12\n-5\n"),
            [],
            "neg:2: CPU percent '-5' is out of range",
        ),
        (
            lambda d: None,
            ["--vm-count", "0"],
            "Invalid value for '--vm-count': 0 is not in the range",
        ),
        (
            lambda d: None,
            ["--contention-threshold", "1.5"],
            "Invalid value for '--contention-threshold': 1.5 is outside [0.01, 1]",
        ),
        (
            lambda d: (d.parent / "c.yaml").write_text("placement: {consolidate_below: 0.65}\n"),
            ["--config", "{dir}/../c.yaml", "--contention-threshold", "0.6"],
            "placement.consolidate_below (0.65) must be below the contention threshold (0.6)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(vm_dir: Path, setup, args, message: str) -> None:
    setup(vm_dir)
    args = [a.replace("{dir}", str(vm_dir)) for a in args]
    result = run_cli(["simulate", "--vms", str(vm_dir), *args])
    check_user_error(result)
    assert message in result.stderr


def _members(*files: tuple[str, bytes]):
    def setup(d: Path) -> Path:
        d.mkdir()
        for name, body in files:
            (d / name).write_bytes(body)
        return d

    return setup


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d, "nope: no such directory"),
        (lambda d: (d.write_text("12\n"), d)[1], "nope: is a file, not a directory"),
        (_members(), "nope: no trace files in the directory"),
        (lambda d: (_members()(d) / "sub").mkdir(), "nope: no trace files"),
        (_members(("vm1", b"12\n13\n"), ("vm2", b"\x00\x01\x02")), "vm2: binary content"),
        (_members(("vm1", "12\n13\n".encode("utf-16"))), "vm1: is UTF-16 text"),
        (_members(("vm1", b"12\n\xff\xfe13\n")), "vm1: not UTF-8 text (byte 3 is 0xff)"),
        (_members(("vm1", b"1\n\xc3\x28\n")), "vm1: not UTF-8 text"),
        (_members(("vm1", b"")), "vm1: empty file, no CPU samples"),
        (_members(("big", b"1\n" * (8 * 1024 * 1024 + 1))), "big: 16,777,218 bytes is larger"),
        (
            _members(("a.csv", b"timestamp,value\n2024-01-01,3\n")),
            "a.csv:1: 'timestamp,value' is not a number (a per-VM trace has one CPU % a line)",
        ),
        (_members(("vm1", b"12\nnan\n")), "vm1:2: CPU percent 'nan' is out of range"),
        (_members(("vm1", b"1e400\n")), "vm1:1: CPU percent '1e400' is out of range"),
    ],
)
def test_hostile_vm_directories_are_one_line(tmp_path: Path, setup, message: str) -> None:
    d = tmp_path / "nope"
    setup(d)
    out = tmp_path / "out"
    result = run_cli(["simulate", "--vms", str(d), "--out", str(out)])
    check_user_error(result, message)
    assert not out.exists()


def test_a_device_among_the_members_is_not_read(tmp_path: Path) -> None:
    d = _members(("vm1", b"10\n20\n"))(tmp_path / "vms")
    (d / "zero").symlink_to("/dev/zero")  # skipped: not a regular file
    from autoscaler.simulator.vm_replay import load_vm_traces

    assert load_vm_traces(d).names == ("vm1",)


def test_unknown_placement_for_vms(vm_dir: Path) -> None:
    result = CliRunner().invoke(command(), ["--vms", str(vm_dir), "--placement", "fgd"])
    assert result.exit_code == 2
    assert (
        "--placement: unknown 'fgd' with --vms (known: spread, pack, interference_aware)"
        in result.output
    )
