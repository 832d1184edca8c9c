"""The command line as a user runs it: a real subprocess for exit codes and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoscaler.cli import BLAS_THREADS, cli, single_thread_blas
from tools.readme_demo_table import readme_table, table_lines

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscaler", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """What ``make demo`` runs: the default simulation, its output and its folder."""
    out = tmp_path_factory.mktemp("demo-out")
    res = CliRunner().invoke(cli, ["simulate", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return res.output, out


def test_readme_demo_table_is_what_the_demo_prints(demo: tuple[str, Path]) -> None:
    printed = table_lines(demo[0])
    documented = readme_table((REPO / "README.md").read_text())
    assert documented == printed, (
        "README.md's demo table differs from `make demo`'s output: "
        "run `.venv/bin/python tools/readme_demo_table.py` and commit README.md"
    )


def test_simulate_default_writes_every_output(demo: tuple[str, Path]) -> None:
    output, tmp_path = demo
    lines = output.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("policy"))
    rows = [ln.split()[0] for ln in lines[header + 2 : header + 8]]
    assert rows == [
        "threshold",
        "target",
        "predictive_threshold",
        "predictive_target",
        "qos",
        "oracle",
    ]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["trace"]["name"] == "nasa_http_1995_week.csv"
    assert summary["trace"]["scale_factor"] > 0
    for name in rows:
        p = summary["policies"][name]
        for key in (
            "slo_violation_pct",
            "instance_hours",
            "cost",
            "scaling_actions",
            "mean_utilization",
            "p95_latency_ms",
            "dropped_requests",
        ):
            assert key in p
    assert summary["policies"]["oracle"]["instance_hours_vs_oracle"] == 1.0
    header_line = (tmp_path / "timeseries.csv").read_text().splitlines()[0]
    assert header_line.startswith("timestamp,demand,threshold_instances")
    assert "hosts_used" not in header_line  # no hosts, no hosts columns
    assert (tmp_path / "simulation.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--trace", "nope.csv"], "error: nope.csv: no such file"),
        (["simulate", "--policy", "magic"], "error: unknown policy 'magic'"),
        (
            ["simulate", "--scale", "1", "--peak-instances", "3"],
            "either --scale or --peak-instances",
        ),
        (["simulate", "--config", "missing.yaml"], "error: missing.yaml: no such file"),
        (["check-config", "missing.yaml"], "error: missing.yaml: no such file"),
    ],
)
def test_user_errors_are_one_line_exit_2_no_traceback(args: list[str], message: str) -> None:
    res = run(*args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--policy", "target"],
        ["forecast", "--model", "naive", "--horizon", "3"],
        ["backtest", "--models", "naive", "--horizon", "3"],
    ],
)
def test_a_bad_trace_leaves_no_out_folder_behind(command: list[str], tmp_path: Path) -> None:
    # The --out check created the folder before the trace was read, and left it empty.
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2024-01-01T00:00:00Z,x\n")
    out = tmp_path / "new" / "out"
    res = CliRunner().invoke(cli, [*command, "--trace", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "not a number: 'x'" in res.output
    assert not (tmp_path / "new").exists()


def test_simulate_writes_into_a_new_nested_out_folder(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    rows = "".join(f"2024-01-01T00:{m:02d}:00Z,{10 + m % 7}\n" for m in range(30))
    trace.write_text("timestamp,value\n" + rows)
    out = tmp_path / "a" / "b"
    args = ["simulate", "--trace", str(trace), "--policy", "target", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (out / "summary.json").exists() and (out / "decisions.csv").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left


def test_simulate_refuses_an_out_whose_decisions_csv_is_a_folder(tmp_path: Path) -> None:
    # decisions.csv was not checked before the run: summary.json was written, then the
    # write of decisions.csv failed, leaving half the output
    trace = tmp_path / "t.csv"
    rows = "".join(f"2024-01-01T00:{m:02d}:00Z,{10 + m % 7}\n" for m in range(30))
    trace.write_text("timestamp,value\n" + rows)
    out = tmp_path / "out"
    (out / "decisions.csv").mkdir(parents=True)
    args = ["simulate", "--trace", str(trace), "--policy", "target", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert "decisions.csv is a directory" in res.output
    assert [p.name for p in out.iterdir()] == ["decisions.csv"]


def test_bad_step_value() -> None:
    res = run("simulate", "--step", "5 minutes")
    assert (
        res.returncode == 2 and "invalid duration" in res.stderr and "Traceback" not in res.stderr
    )


def test_check_config(tmp_path: Path) -> None:
    assert run("check-config", "etc/autoscaler.yaml").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n  - name: a\n    cooldown_up: soon\n    max_size: 0\n")
    res = run("check-config", str(bad))
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f'error: {bad}:3: groups[0].cooldown_up: invalid duration "soon" (use 90s, 5m, 1h)',
        f"error: {bad}:4: groups[0].max_size: Input should be greater than or equal to 1",
    ]


def test_simulate_with_config_and_planetlab_trace(tmp_path: Path, shared_data: Path) -> None:
    vm = sorted((shared_data / "planetlab" / "20110303").iterdir())[0]
    res = CliRunner().invoke(
        cli,
        [
            "simulate",
            "--trace",
            str(vm),
            "--step",
            "5m",
            "--config",
            "etc/autoscaler.yaml",
            "--policy",
            "target",
            "--policy",
            "oracle",
            "--peak-instances",
            "8",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "288 steps of 300s" in res.output


def test_simulate_fleet_dispatches_to_the_gpu_simulator(tmp_path: Path, shared_data: Path) -> None:
    gpu = shared_data / "alibaba-gpu-v2023"
    res = CliRunner().invoke(
        cli,
        [
            "simulate",
            "--fleet",
            str(gpu / "openb_node_list_all_node.csv"),
            "--trace",
            str(gpu / "openb_pod_list_default.csv"),
            "--placement",
            "best_fit",
            "--placement",
            "fgd",
            "--load-pct",
            "60",
            "--seeds",
            "1",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["placements"]) == {"best_fit", "fgd"}
    curve = summary["placements"]["fgd"]["gpu_allocation_ratio_pct"]
    assert 55 <= float(curve["60"]) <= 61  # below saturation nearly everything submitted is placed
    assert (tmp_path / "allocation.png").exists()


def test_policy_help_names_the_policies_that_run_by_default() -> None:
    from autoscaler.simulation import DEFAULT_POLICIES

    res = CliRunner().invoke(cli, ["simulate", "--help"], terminal_width=400)
    assert f"default {', '.join(DEFAULT_POLICIES)})" in res.output


def test_blas_defaults_to_one_thread_unless_the_operator_chose() -> None:
    env = {"OMP_NUM_THREADS": "4"}
    single_thread_blas(env)
    assert env["OMP_NUM_THREADS"] == "4"
    assert all(env[name] for name in BLAS_THREADS)
    assert env["OPENBLAS_NUM_THREADS"] == "1"
