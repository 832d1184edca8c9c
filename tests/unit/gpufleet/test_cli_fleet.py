"""``autoscaler simulate --fleet ...``: the GPU fleet simulator through the real command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoscaler.cli import cli
from autoscaler.commands import load_command
from autoscaler.commands.simulate_fleet import FLEET_OPTIONS


def invoke(args: list[str]):
    return CliRunner().invoke(cli, ["simulate", *args])


@pytest.fixture
def small(tmp_path: Path, data_dir: Path) -> tuple[Path, Path]:
    """A 6-node YAML fleet and the first 400 pods of the default trace."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "nodes:\n"
        "  - {name: g, count: 4, gpus: 8, gpu_model: G2, cpus: 96, memory: 768GiB}\n"
        "  - {name: t, count: 2, gpus: 2, gpu_model: T4, cpus: 104, memory: 512GiB}\n"
        "  - {name: c, count: 2, cpus: 64, memory: 256GiB}\n"
    )
    lines = (data_dir / "openb_pod_list_default.csv").read_text().splitlines()[:401]
    trace = tmp_path / "pods.csv"
    trace.write_text("\n".join(lines) + "\n")
    return fleet, trace


def test_fleet_options_are_on_the_simulate_command() -> None:
    simulate = load_command("simulate")
    assert simulate is not None
    names = {p.name for p in simulate.params}
    assert {"fleet", "mode", "placements", "schedulers", "load_pct", "seeds", "migration"} <= names
    assert {"preemption_cost", "borrow_quota", "synergy_profiles"} <= names
    assert len(FLEET_OPTIONS) == 13


def test_fragmentation_mode_table_summary_and_plot(small, tmp_path: Path) -> None:
    fleet, trace = small
    out = tmp_path / "out"
    args = ["--fleet", str(fleet), "--trace", str(trace), "--out", str(out), "--seeds", "2"]
    args += ["--placement", "best_fit", "--placement", "fgd", "--placement", "random"]
    res = invoke(args)
    assert res.exit_code == 0, res.output
    assert "fgd" in res.output and "alloc@130%" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["allocation.png", "summary.json"]  # staged
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["placements"]) == {"best_fit", "fgd", "random"}
    fgd = summary["placements"]["fgd"]
    assert set(fgd["gpu_allocation_ratio_pct"]) == {str(x) for x in range(131)}
    assert 0 < fgd["gpu_allocation_ratio_pct"]["130"] <= 100
    assert fgd["seeds"] == [42, 43]
    assert fgd["unallocated_gpus_at_max_load"] >= 0 and fgd["wall_seconds"] > 0
    assert "fragmentation_ratio_pct" in fgd and "fragmented_gpu_pct" in fgd
    idle_at_max = fgd["unallocated_gpus"]["130"]
    assert idle_at_max == pytest.approx(
        36 * (1 - fgd["gpu_allocation_ratio_pct"]["130"] / 100), abs=0.01
    )
    assert (out / "allocation.png").stat().st_size > 1000


def test_time_mode_table_summary_and_plots(small, tmp_path: Path) -> None:
    fleet, trace = small
    out = tmp_path / "out"
    args = ["--fleet", str(fleet), "--trace", str(trace), "--out", str(out), "--mode", "time"]
    args += ["--scheduler", "fifo", "--scheduler", "priority", "--migration"]
    args += ["--arrival-speedup", "50", "--migration-cost", "30s"]
    res = invoke(args)
    assert res.exit_code == 0, res.output
    runs = json.loads((out / "summary.json").read_text())["runs"]
    assert set(runs) == {
        "best_fit/fifo/migration/request",
        "best_fit/priority+preempt/migration/request",
    }
    for r in runs.values():
        assert r["finished"] + r["unfinished"] == 400
        assert r["jct_seconds"]["p50"] <= r["jct_seconds"]["p95"] <= r["jct_seconds"]["p99"]
    assert (out / "jct_cdf.png").exists() and (out / "allocation.png").exists()


def test_time_mode_tiresias_synergy_summary_fields(small, tmp_path: Path) -> None:
    fleet, trace = small
    out = tmp_path / "out"
    args = ["--fleet", str(fleet), "--trace", str(trace), "--out", str(out), "--mode", "time"]
    args += ["--scheduler", "tiresias", "--scheduler", "sjf", "--preemption"]
    args += ["--arrival-speedup", "50", "--preemption-cost", "1m", "--allocation", "synergy"]
    res = invoke(args)
    assert res.exit_code == 0, res.output
    assert "sjf+preempt/no-migration/synergy*" in res.output  # clairvoyant marked
    runs = json.loads((out / "summary.json").read_text())["runs"]
    las = runs["best_fit/tiresias+preempt/no-migration/synergy"]
    assert las["scheduler"] == "tiresias" and las["preemption"] and not las["clairvoyant"]
    assert las["preemption_cost_seconds"] == 60.0 and las["allocation"] == "synergy"
    assert runs["best_fit/sjf+preempt/no-migration/synergy"]["clairvoyant"]
    assert set(las["by_class"]) <= {"LS", "BE", "Burstable", "Guaranteed"}
    assert sum(c["finished"] for c in las["by_class"].values()) == las["finished"]
    assert las["jct_seconds"]["mean"] > 0 and las["makespan_seconds"] > 0
    assert 0 <= las["mean_fragmentation_pct"] <= 100
    assert las["by_partition"] == {}  # this fleet has no partitions


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fleet", "missing.csv", "--trace", "x.csv"], "missing.csv: no such file"),
        (["--fleet", "FLEET"], "--trace PODS.csv"),
        (["--fleet", "FLEET", "--trace", "BADPODS"], "pod list lacks column(s)"),
        (
            ["--fleet", "FLEET", "--trace", "PODS", "--migration-cost", "soon", "--mode", "time"],
            "--migration-cost",
        ),
        (
            ["--fleet", "FLEET", "--trace", "PODS", "--mode", "time", "--preemption-cost", "x"],
            "--preemption-cost",
        ),
        (
            [
                "--fleet",
                "FLEET",
                "--trace",
                "PODS",
                "--mode",
                "time",
                "--allocation",
                "synergy",
                "--synergy-profiles",
                "nope.json",
            ],
            "--synergy-profiles: nope.json: no such profile file",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(small, tmp_path: Path, extra, message) -> None:
    fleet, trace = small
    bad = tmp_path / "bad.csv"
    bad.write_text("name,cpu\na,1\n")
    subst = {"FLEET": str(fleet), "PODS": str(trace), "BADPODS": str(bad)}
    res = invoke([subst.get(a, a) for a in extra])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_unknown_placement_is_a_usage_error(small) -> None:
    fleet, trace = small
    res = invoke(["--fleet", str(fleet), "--trace", str(trace), "--placement", "worst"])
    assert res.exit_code == 2
    assert "--placement: unknown 'worst' with --fleet (known: random," in res.output


def test_a_pod_needing_more_gpus_than_any_node_exits_2(tmp_path) -> None:
    from tests.hostile_surfaces import check_user_error, run_cli

    nodes = tmp_path / "n.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,64000,262144,2,P100\n")
    pods = tmp_path / "p.csv"
    pods.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\nx,1000,100,8,1000\n")
    out = tmp_path / "out"
    res = run_cli(["simulate", "--fleet", str(nodes), "--trace", str(pods), "--out", str(out)])
    check_user_error(res, f"{pods}:2: num_gpu: pod 'x'")
    assert not out.exists()
