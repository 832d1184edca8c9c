"""The hostile inputs the issue found, one case each: one line naming what is wrong and
where, exit code 2, nothing written; and the silent defaults that are now errors."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from autoscaler.config import ConfigError, load_config, parse_config
from autoscaler.daemon.reload import plan_reload
from tests.hostile_surfaces import check_user_error, run_cli

BOMB = "".join(
    f"{k}: &{k} [{', '.join(['*' + p] * 9 if p else ['x'] * 9)}]\n"
    for p, k in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh", strict=True)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty config"),
        ("groups:\n  - name: a\ngroups: []\n", ":3: invalid YAML: duplicate key 'groups' (first at line 1)"),
        ("groups:\n  - {name: a, name: b}\n", ":2: invalid YAML: duplicate key 'name'"),
        ("groups:\n  - name: a\n    interval: 0s\n", ":3: groups[0].interval: must be at least 1s, not 0s"),
        ("groups:\n  - name: a\n    capacity_per_instance: .inf\n", ":3: groups[0].capacity_per_instance: Input should be a finite number"),
        ("groups:\n  - name: a\n    max_size: 99999999999999999999999\n", ":3: groups[0].max_size: Input should be less than or equal to 100000"),
        ("hosts:\n  - count: 100000000000\n", ":2: hosts[0].count: Input should be less than or equal to 100000"),
        ("groups:\n  - name: a\n    cooldown_up: 99999999999d\n", ':3: groups[0].cooldown_up: duration "99999999999d" is longer than 3650d'),
        ("groups:\n  - name: a\n    boot_delay: 100000d\n", "groups[0].boot_delay"),
        ("simulation:\n  step: 1ms\n", ":2: simulation.step: must be at least 1s, not 1ms"),
        ("simulation:\n  seed: -1\n", ":2: simulation.seed: Input should be greater than or equal to 0"),
        (BOMB, "expands to more than 1,000,000 nodes"),
    ],
)  # fmt: skip
def test_bad_config_is_one_line_with_its_place(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert time.monotonic() - t0 < 30  # the alias bomb took 40 s and 4.5 GB before
    assert any(line.startswith(str(p)) and message in line for line in info.value.errors), (
        info.value.errors
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("\ufeffgroups: []\n".encode("utf-16"), "is UTF-16 text; save the config file as UTF-8"),
        (b"groups:\x00\x01\x02", "binary content"),
        (b"groups: [\xc3\x28]\n", "not UTF-8 text"),
    ],
)
def test_undecodable_config_files(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_bytes(content)
    check_user_error(run_cli(["check-config", str(p)]), message)


def test_devices_and_folders_are_not_read(tmp_path: Path) -> None:
    check_user_error(run_cli(["check-config", "/dev/zero"]), "not a regular file")
    check_user_error(run_cli(["simulate", "--trace", "/dev/zero"]), "not a regular file")
    check_user_error(run_cli(["check-config", str(tmp_path)]), "directory")


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["simulate", "--step", "0s"], ("--step", "outside 1s..1d")),
        (["simulate", "--step", "1ms"], ("--step",)),
        (["simulate", "--step", "99999999999d"], ("--step", "longer than 3650d")),
        (["simulate", "--boot-delay", "100000d"], ("--boot-delay",)),
        (["simulate", "--seed", "-1"], ("--seed",)),
        (["simulate", "--scale", "nan"], ("--scale", "not a finite number")),
        (["simulate", "--peak-instances", "0"], ("--peak-instances",)),
        (["simulate", "--vms", "/nonexistent", "--hosts", "0"], ("--hosts",)),
        (
            ["simulate", "--vms", "/nonexistent", "--contention-threshold", "1e-320"],
            ("--contention-threshold", "[0.01, 1]"),
        ),
        (["run", "--config", "etc/autoscaler.yaml", "--speedup", "nan"], ("--speedup",)),
        (["run", "--config", "etc/autoscaler.yaml", "--speedup", "inf"], ("--speedup",)),
        (["run", "--config", "etc/autoscaler.yaml", "--speedup", "1e9"], ("--speedup",)),
        (["forecast", "--trace", "x.csv", "--step", "0s", "--horizon", "1"], ("--step",)),
        (["status", "--url", "notaurl"], ("--url",)),
        (["status", "--url", "file:///etc/passwd"], ("--url", "http:// or https://")),
        (["explain", "web", "--url", "ftp://127.0.0.1/"], ("--url",)),
        (["explain", "web", "--url", "HTTP:// "], ("--url", "spaces or control characters")),
        (["status", "--token-file", "/dev/zero"], ("--token-file", "not a regular file")),
        (
            ["status", "--url", "https://127.0.0.1:1", "--ca-file", "/tmp"],
            ("--ca-file", "is a directory"),
        ),
        (
            ["status", "--url", "https://127.0.0.1:1", "--ca-file", "/dev/zero"],
            ("--ca-file", "not a regular file"),
        ),
        (
            ["status", "--url", "https://127.0.0.1:1", "--ca-file", "/etc/passwd"],
            ("--ca-file", "not a PEM CA certificate"),
        ),
    ],
)
def test_bad_options_are_one_line_naming_the_option(argv: list[str], names: tuple[str]) -> None:
    res = run_cli(argv)
    check_user_error(res, names[0])
    for name in names[1:]:
        assert name in res.stderr, res.stderr


def test_a_huge_horizon_is_refused_before_any_allocation(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("\n".join(str(v) for v in range(50)))
    res = run_cli(["forecast", "--trace", str(trace), "--step", "1m", "--model", "naive",
                   "--horizon", "100000000000"])  # fmt: skip
    check_user_error(res, "--horizon", "more than 100,000 steps")


def test_a_trace_value_too_large_to_scale_is_refused(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:01:00,1e308\n")
    check_user_error(run_cli(["simulate", "--trace", str(trace)]), f"{trace}:3", "larger than")


@pytest.mark.parametrize("blocker", ["summary.json", "simulation.png"])
def test_out_that_cannot_take_the_files_fails_before_any_work(tmp_path: Path, blocker: str) -> None:
    out = tmp_path / "out"
    (out / blocker).mkdir(parents=True)
    res = run_cli(["simulate", "--out", str(out), "--policy", "threshold"])
    check_user_error(res, "--out", f"{blocker} is a directory")
    assert sorted(p.name for p in out.iterdir()) == [blocker]  # nothing written


def test_out_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    res = run_cli(["simulate", "--out", str(tmp_path / "file" / "out")])
    check_user_error(res, "--out", "cannot create the folder")


def test_a_user_value_cannot_break_the_error_line() -> None:
    res = run_cli(["simulate", "--step", "5m\nerror: forged"])
    check_user_error(res, "--step")
    assert "\\n" in res.stderr


def test_a_reload_that_drops_every_group_is_refused(tmp_path: Path) -> None:
    old = parse_config({"groups": [{"name": "web"}]})
    for text in ("", "groups: []\n"):
        p = tmp_path / "c.yaml"
        p.write_text(text)
        plan = plan_reload(p, old)
        assert plan.config is None and plan.errors, text


def test_the_oracle_is_a_lower_bound_with_no_boot_delay() -> None:
    from autoscaler.config import Config
    from autoscaler.simulation import build_scenario, simulate
    from autoscaler.traces import load_trace

    trace = load_trace(None)
    scn = build_scenario(trace, Config(), boot_delay=timedelta(0))
    runs = simulate(scn, ["oracle"]).runs
    assert int(np.sum(runs["oracle"].score.violations)) == 0
