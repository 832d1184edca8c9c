"""``autoscaler sweep``: the same table one by one, on a process pool and on Ray, and
each cell equal to what ``autoscaler simulate`` prints for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoscaler.config.base import ConfigError
from autoscaler.sweep.engines import guided_chunks, run_cells
from autoscaler.sweep.grid import load_grid
from autoscaler.sweep.table import to_csv, to_json

AUTOSCALER = str(Path(sys.executable).parent / "autoscaler")
CONFIG = """\
simulation: {step: 20m}
groups:
  - {name: web, min_size: 1, max_size: 20, capacity_per_instance: 100, stale_after: 20m}
"""
GRID = """\
config: cfg.yaml
policies: [threshold, target]
boot_delays: [60s, 5m]
budgets: [12, 20]
seeds: [1, 7]
peak_instances: 10
"""


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    path = tmp_path / "grid.yaml"
    path.write_text(GRID)
    return path


def test_serial_pool_and_ray_give_identical_tables(grid: Path) -> None:
    pytest.importorskip("ray", reason="the 'sweep' extra (Ray) is not installed")
    import ray

    cells = load_grid(grid)
    assert len(cells) == 16
    _, serial = run_cells(cells, "serial")
    used, pool = run_cells(cells, "pool", workers=2)
    assert used == "pool"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        used, on_ray = run_cells(cells, "ray")
    finally:
        ray.shutdown()
    assert used == "ray"
    assert to_csv(pool) == to_csv(serial) and to_json(pool) == to_json(serial)
    assert to_csv(on_ray) == to_csv(serial) and to_json(on_ray) == to_json(serial)
    # The grid's axes change the results (a table of one repeated row would pass the above).
    assert len({(r["instance_hours"], r["slo_violation_pct"]) for r in serial}) >= 3
    assert [r["cell"] for r in serial] == list(range(16))


def test_a_cell_equals_autoscaler_simulate_of_that_cell(grid: Path, tmp_path: Path) -> None:
    cells = [c for c in load_grid(grid) if c.budget == 20 and c.seed == 7]
    cell = next(c for c in cells if c.policy == "target" and c.boot_delay_s == 300)
    _, (row,) = run_cells([cell], "serial")
    out = tmp_path / "one"
    subprocess.run(
        [
            AUTOSCALER,
            "simulate",
            *("--config", str(tmp_path / "cfg.yaml"), "--policy", "target"),
            *("--boot-delay", "5m", "--seed", "7", "--peak-instances", "10", "--out", str(out)),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    summary = json.loads((out / "summary.json").read_text())["policies"]["target"]
    summary.pop("wall_seconds")
    assert {k: row[k] for k in summary} == summary


def test_the_cli_writes_csv_and_json_and_bad_grids_are_one_line_exit_2(
    grid: Path, tmp_path: Path
) -> None:
    grid.write_text(
        GRID.replace("seeds: [1, 7]", "seeds: [1]").replace("budgets: [12, 20]", "budgets: [20]")
    )
    done = subprocess.run(
        [
            AUTOSCALER,
            "sweep",
            str(grid),
            "--engine",
            "pool",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "4 cell(s) on pool" in done.stdout
    rows = json.loads((tmp_path / "o" / "sweep.json").read_text())["cells"]
    assert (tmp_path / "o" / "sweep.csv").read_text() == to_csv(rows)
    bad = tmp_path / "bad.yaml"
    bad.write_text("policies: [threshold, nope]\n")
    done = subprocess.run(
        [AUTOSCALER, "sweep", str(bad), "--out", str(tmp_path / "never")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {bad}: policies[1]: unknown policy 'nope' (known: "
        + done.stderr.split("(known: ", 1)[1].strip()
    ]
    assert not (tmp_path / "never").exists()
    with pytest.raises(ConfigError, match=r"traces\[0\]: no such file missing\.csv"):
        bad.write_text("policies: [target]\ntraces: [missing.csv]\n")
        load_grid(bad)


def test_a_bad_out_fails_before_any_cell_runs(grid: Path, tmp_path: Path) -> None:
    # It failed only when the results were written, after the whole sweep had run.
    from click.testing import CliRunner

    from autoscaler.cli import cli

    taken = tmp_path / "taken"
    taken.write_text("keep\n")
    res = CliRunner().invoke(cli, ["sweep", str(grid), "--engine", "serial", "--out", str(taken)])
    assert res.exit_code == 2
    assert f"--out {taken}: cannot create the folder" in res.output
    assert "cell(s)" not in res.output and taken.read_text() == "keep\n"


def test_grid_settings_the_config_group_contradicts_fail_before_any_cell(tmp_path: Path) -> None:
    # A cell raising ScenarioError was a traceback after the other cells had run.
    (tmp_path / "cfg.yaml").write_text(
        "groups:\n  - name: web\n    forecaster: {quantiles: [0.5]}\n"
        "    boot_delay: {distribution: lognormal, median: 2m, low: 1m, high: 5m}\n"
    )
    grid = tmp_path / "grid.yaml"
    grid.write_text("config: cfg.yaml\npolicies: [target, qos]\nboot_delays: [3m, 10m]\n")
    with pytest.raises(ConfigError) as info:
        load_grid(grid)
    assert info.value.errors == [
        f"{grid}: boot_delays[1]: 10m: median: 10m is not within 1m .. 5m",
        f"{grid}: policies[1]: policy qos (its defaults; list it under the group's policies "
        "to change them): quantile: 0.95 is not among forecaster.quantiles "
        "(0.5); add it there (the policy would read another quantile or the mean)",
    ]
    grid.write_text("config: cfg.yaml\npolicies: [target]\nboot_delays: [3m]\n")
    assert len(load_grid(grid)) == 1


def test_a_threshold_that_cannot_act_at_the_simulation_step_fails_the_grid(tmp_path: Path) -> None:
    # the cells' traces are resampled to simulation.step: 3 periods of 30m never fit in
    # the default 1h lookback, and every threshold cell held at every step
    (tmp_path / "cfg.yaml").write_text("simulation: {step: 30m}\n")
    grid = tmp_path / "grid.yaml"
    grid.write_text("config: cfg.yaml\npolicies: [target, threshold]\n")
    with pytest.raises(ConfigError) as info:
        load_grid(grid)
    assert info.value.errors == [
        f"{grid}: config {tmp_path / 'cfg.yaml'}: group web: samples 30m apart are older than the group's "
        "stale_after (5m) when read, and the engine never scales in on stale data; set "
        "stale_after to at least 30m",
        f"{grid}: policies[1]: policy threshold (its defaults; list it under the group's "
        "policies to change them): periods: 3 periods of the 30m step do not fit in "
        "metric.lookback (1h); the policy would never act",
    ]


@pytest.mark.parametrize(
    ("cells", "workers", "sizes"),
    [
        (40, 2, [10, 7, 5, 4, 3, 2, 2, *[1] * 7]),
        (7, 2, [1] * 7),
        (1, 8, [1]),
        (0, 2, []),
        (40, 0, [20, 10, 5, 2, 1, 1, 1]),
    ],
)
def test_cells_go_out_in_guided_chunks_large_first_down_to_one(
    cells: int, workers: int, sizes: list[int]
) -> None:
    parts = guided_chunks(list(range(cells)), workers)  # type: ignore[arg-type]
    assert [len(p) for p in parts] == sizes
    assert [c for part in parts for c in part] == list(range(cells))


def test_many_cells_on_few_workers_make_few_tasks_and_a_short_tail() -> None:
    parts = guided_chunks(list(range(1000)), 3)  # type: ignore[arg-type]
    assert len(parts) < 60  # not 1,000 tasks
    assert [len(p) for p in parts[-6:]] == [1] * 6  # the workers end within a cell
    sizes = [len(p) for p in parts]
    assert sizes == sorted(sizes, reverse=True)


def test_a_worker_given_the_loaded_traces_reads_no_file(grid: Path, tmp_path: Path) -> None:
    """What a Ray worker on another node does: config and trace come from the object
    store (here: handed in), so the files need not exist where it runs."""
    import dataclasses

    from autoscaler.sweep import engines

    cells = load_grid(grid)[:3]
    _, serial = run_cells(cells, "serial")
    loaded = engines.preload(cells, imports=False)
    elsewhere = [dataclasses.replace(c, config=str(tmp_path / "gone" / "cfg.yaml")) for c in cells]
    key = (elsewhere[0].config, elsewhere[0].trace_path)
    rows = engines.run_chunk(elsewhere, (key, next(iter(loaded.values()))))
    assert rows == serial
    assert not (tmp_path / "gone").exists()
