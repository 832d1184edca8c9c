"""The frontier through ``autoscaler sweep``: ``target@U`` / ``threshold@U/L`` / ``qos@B``
variants in a grid, and qos judged against the target frontier at its own violation
rate (``frontier.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoscaler.cli import cli
from autoscaler.config import GroupConfig, QosPolicyConfig
from autoscaler.config.base import ConfigError
from autoscaler.sweep.frontier import (
    Variant,
    apply_variant,
    frontier,
    frontier_rows,
    interpolate,
    parse_variant,
)
from autoscaler.sweep.grid import load_grid

CONFIG = """\
simulation: {step: 20m}
groups:
  - {name: web, min_size: 1, max_size: 20, capacity_per_instance: 100, stale_after: 20m}
"""
GRID = """\
config: cfg.yaml
policies: [target@0.3, target@0.5, target@0.8, qos@1, qos@5, oracle]
boot_delays: [5m]
peak_instances: 10
"""


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("target", None),
        ("qos+schedule", None),
        ("target@0.4", Variant("target", (0.4,))),
        ("threshold@0.7/0.3", Variant("threshold", (0.7, 0.3))),
        ("qos@0.5", Variant("qos", (0.5,))),
    ],
)
def test_parse_variant(name: str, want: Variant | None) -> None:
    assert parse_variant(name) == want


@pytest.mark.parametrize(
    "name",
    ["kpa@0.5", "target@x", "target@1.5", "target@0.2/0.1", "threshold@0.3/0.7", "qos@0"],
)
def test_malformed_variants_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        parse_variant(name)


def test_apply_variant_sets_the_one_setting() -> None:
    group = GroupConfig(name="web", policies=[QosPolicyConfig(gain=0.2)])
    qos = apply_variant(group, Variant("qos", (5.0,)))
    assert qos.slo.target_violation_pct == 5.0
    assert qos.policies == [QosPolicyConfig(gain=0.2)]  # the group's own qos settings stay
    target = apply_variant(group, Variant("target", (0.4,)))
    assert [p.kind for p in target.policies] == ["target"] and target.policies[0].target == 0.4


def test_frontier_and_interpolation() -> None:
    pts = [(3.0, 100.0), (1.0, 200.0), (2.0, 250.0), (0.5, 400.0)]
    front = frontier(pts)
    assert front == [(0.5, 400.0), (1.0, 200.0), (3.0, 100.0)]  # (2, 250) is dominated
    assert interpolate(front, 2.0) == (150.0, "")
    assert interpolate(front, 0.1) == (400.0, "<")
    assert interpolate(front, 9.0) == (100.0, ">")


def test_a_bad_variant_in_a_grid_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("policies: [target@0.4, qos@nope]\n")
    with pytest.raises(ConfigError) as exc:
        load_grid(path)
    assert "policies[1]" in str(exc.value) and "qos@nope" in str(exc.value)


def test_sweep_writes_the_frontier(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    (tmp_path / "grid.yaml").write_text(GRID)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["sweep", str(tmp_path / "grid.yaml"), "--engine", "serial", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    # written through a staging folder, which is gone
    assert sorted(p.name for p in out.iterdir()) == ["frontier.csv", "sweep.csv", "sweep.json"]
    with (out / "sweep.csv").open() as f:
        cells = {r["policy"]: r for r in csv.DictReader(f)}
    hours = {p: float(cells[p]["instance_hours"]) for p in cells}
    # the settings took effect: a lower utilisation target holds more instances
    assert hours["target@0.3"] > hours["target@0.5"] > hours["target@0.8"]
    with (out / "frontier.csv").open() as f:
        front = list(csv.DictReader(f))
    assert [r["policy"] for r in front] == ["qos@1", "qos@5"]
    rows = [
        {
            **r,
            "slo_violation_pct": float(r["slo_violation_pct"]),
            "instance_hours": float(r["instance_hours"]),
            "boot_delay_s": float(r["boot_delay_s"]),
        }
        for r in cells.values()
    ]
    targets = frontier(
        [(r["slo_violation_pct"], r["instance_hours"]) for r in rows if "target@" in r["policy"]]
    )
    for r in front:
        ref, side = interpolate(targets, float(r["slo_violation_pct"]))
        assert float(r["vs_target_frontier"]) == pytest.approx(hours[r["policy"]] / ref, rel=1e-3)
        assert r["side"] == side
        assert float(r["vs_oracle"]) == pytest.approx(hours[r["policy"]] / hours["oracle"], 1e-3)


def test_frontier_rows_per_trace_and_boot() -> None:
    def row(trace: str, policy: str, v: float, h: float, boot: float = 120.0) -> dict:
        return {
            "trace": trace,
            "boot_delay_s": boot,
            "budget": 20,
            "seed": 1,
            "policy": policy,
            "slo_violation_pct": v,
            "instance_hours": h,
        }

    rows = [
        row("a", "target@0.3", 1.0, 300.0),
        row("a", "target@0.6", 3.0, 100.0),
        row("a", "qos@2", 2.0, 150.0),
        row("a", "oracle", 0.0, 75.0),
        row("a", "qos@2", 2.0, 150.0, boot=600.0),  # no target at this boot: not judged
        row("b", "target@0.3", 1.0, 50.0),
        row("b", "qos@0.5", 0.5, 60.0),
    ]
    got = {(r["trace"], r["boot_delay_s"], r["policy"]): r for r in frontier_rows(rows)}
    assert set(got) == {("a", 120.0, "qos@2"), ("b", 120.0, "qos@0.5")}
    assert got["a", 120.0, "qos@2"]["vs_target_frontier"] == pytest.approx(0.75)  # 150 / 200
    assert got["a", 120.0, "qos@2"]["vs_oracle"] == pytest.approx(2.0)
    assert got["b", 120.0, "qos@0.5"]["side"] == "<"
    assert got["b", 120.0, "qos@0.5"]["vs_oracle"] is None
    assert got["b", 120.0, "qos@0.5"]["violation_budget_pct"] == 0.5
