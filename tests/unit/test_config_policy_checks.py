"""A policy's settings against its group's (``config.policy_checks``): each of these
validated before and then read another quantile, a shorter window, or never acted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoscaler.cli import cli
from autoscaler.config import ConfigError, load_config
from autoscaler.simulation import ScenarioError, build_scenario, simulate
from autoscaler.traces import load_trace

GROUP = """\
groups:
  - name: web
    max_size: 40
    metric: {lookback: 10m}
    forecaster: {quantiles: [0.5, 0.9]}
    policies:
"""


def write(tmp_path: Path, policies: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(GROUP + policies)
    return p


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        # qos's default quantile (0.95) was replaced by the nearest stored one (0.9)
        ("      - kind: qos\n",
         r"c\.yaml:7: groups\[0\]\.policies\[0\]\.quantile: 0\.95 is not among "
         r"forecaster\.quantiles \(0\.5, 0\.9\)"),
        ("      - kind: target\n      - {kind: predictive_target, quantile: 0.7}\n",
         r"c\.yaml:8: groups\[0\]\.policies\[1\]\.quantile: 0\.7 is not among"),
        # ten samples of 1m never fit in 10m of window: "fewer than 11 valid samples"
        ("      - {kind: threshold, periods: 11}\n",
         r"c\.yaml:7: groups\[0\]\.policies\[0\]\.periods: 11 periods of the 1m interval "
         r"do not fit in metric\.lookback \(10m\); the policy would never act"),
        ("      - {kind: predictive_threshold, lookback: 20m}\n",
         r"c\.yaml:7: groups\[0\]\.policies\[0\]\.lookback: 20m is longer than "
         r"metric\.lookback \(10m\)"),
        # the peak was read from the 10m window only, whatever keep_warm said
        ("      - {kind: predictive_target, quantile: 0.5, keep_warm: 11m}\n",
         r"c\.yaml:7: groups\[0\]\.policies\[0\]\.keep_warm: 11m is longer than "
         r"metric\.lookback \(10m\), the window its peak is read from"),
        ("      - kind: schedule\n        entries: [{cron: '* * * * *', min: 41}]\n",
         r"c\.yaml:8: groups\[0\]\.policies\[0\]\.entries\[0\]\.min: 41 exceeds the "
         r"group's max_size \(40\)"),
    ],
)  # fmt: skip
def test_a_policy_the_group_contradicts_is_an_error_at_its_line(
    tmp_path: Path, policies: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, policies))


def test_the_limits_themselves_are_accepted(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "      - {kind: predictive_target, quantile: 0.9, keep_warm: 10m}\n"
            "      - {kind: threshold, periods: 10}\n"
            "      - {kind: predictive_threshold, lookback: 10m}\n"
            "      - {kind: predictive_threshold, model: forecast, lookback: 1h}\n"
            "      - kind: schedule\n        entries: [{cron: '* * * * *', min: 40}]\n",
        )
    )
    assert [p.kind for p in cfg.groups[0].policies][:2] == ["predictive_target", "threshold"]


def test_simulate_checks_a_policy_run_at_its_defaults(tmp_path: Path) -> None:
    # --policy qos, not listed by the group: its default quantile met the group only here.
    trace = tmp_path / "t.csv"
    rows = "".join(f"2024-01-01T00:{m:02d}:00Z,{10 + m % 7}\n" for m in range(30))
    trace.write_text("timestamp,value\n" + rows)
    cfg = load_config(write(tmp_path, "      - kind: target\n"))
    scn = build_scenario(load_trace(trace), cfg)
    with pytest.raises(ScenarioError, match=r"policy qos \(its defaults.*quantile: 0\.95 is not"):
        simulate(scn, ["qos"])
    assert simulate(scn, ["target"]).runs["target"].score is not None


def test_an_empty_policy_list_is_an_error_at_its_line(tmp_path: Path) -> None:
    # the daemon held such a group at every tick; leaving the key out gives target
    p = tmp_path / "c.yaml"
    p.write_text(GROUP.replace("    policies:\n", "    policies: []\n"))
    with pytest.raises(ConfigError, match=r"c\.yaml:6: groups\[0\]\.policies: the list is empty"):
        load_config(p)
    p.write_text(GROUP.replace("    policies:\n", ""))
    assert [q.kind for q in load_config(p).groups[0].policies] == ["target"]


def _half_hourly(tmp_path: Path, days: int = 3) -> Path:
    trace = tmp_path / "half_hourly.csv"
    rows = "".join(
        f"2024-01-{1 + i // 48:02d}T{(i % 48) // 2:02d}:{30 * (i % 2):02d}:00Z,{100 + i % 48}\n"
        for i in range(48 * days)
    )
    trace.write_text("timestamp,value\n" + rows)
    return trace


def _coarse_group(tmp_path: Path, policies: str, stale_after: str = "30m") -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(
        GROUP.replace("lookback: 10m", "lookback: 1h").replace(
            "    policies:\n", f"    stale_after: {stale_after}\n    policies:\n"
        )
        + policies
    )
    return p


def test_a_trace_step_longer_than_the_interval_is_checked_as_the_spacing(tmp_path: Path) -> None:
    # a 30m trace on a 1m-interval group with a 1h lookback: threshold's 3 periods were
    # checked against the 1m interval, passed, and the policy never acted (0 actions,
    # 73 % violations on NAB's NYC taxi trace) without a word
    cfg = load_config(_coarse_group(tmp_path, "      - kind: threshold\n      - kind: target\n"))
    scn = build_scenario(load_trace(_half_hourly(tmp_path)), cfg)
    assert scn.step == timedelta(minutes=30)
    with pytest.raises(
        ScenarioError,
        match=r"^policy threshold: periods: 3 periods of the 30m step do not fit in "
        r"metric\.lookback \(1h\); the policy would never act$",
    ):
        simulate(scn, ["threshold"])
    assert simulate(scn, ["target"]).runs["target"].score is not None
    # its defaults are checked the same way
    cfg = load_config(_coarse_group(tmp_path, "      - kind: target\n"))
    scn = build_scenario(load_trace(_half_hourly(tmp_path)), cfg)
    with pytest.raises(ScenarioError, match=r"policy threshold \(its defaults.*30m step"):
        simulate(scn, ["threshold"])


def test_samples_older_than_stale_after_are_refused_before_the_run(tmp_path: Path) -> None:
    # every reading of a 30m trace is a step old: with stale_after 5m each tick was
    # stale, the engine never scaled in, and every policy's figures were meaningless
    cfg = load_config(_coarse_group(tmp_path, "      - kind: target\n", stale_after="5m"))
    with pytest.raises(
        ScenarioError,
        match=r"^group web: samples 30m apart are older than the group's stale_after \(5m\) "
        r"when read, and the engine never scales in on stale data; set stale_after to at "
        r"least 30m$",
    ):
        build_scenario(load_trace(_half_hourly(tmp_path)), cfg)
    # a step of exactly stale_after is read fresh (the 5-minute NAB traces)
    cfg = load_config(_coarse_group(tmp_path, "      - kind: target\n", stale_after="30m"))
    run = simulate(build_scenario(load_trace(_half_hourly(tmp_path)), cfg), ["target"])
    assert run.runs["target"].score is not None


def test_the_simulated_daemon_refuses_samples_older_than_stale_after(tmp_path: Path) -> None:
    from autoscaler.daemon.world import WorldError, load_world

    p = tmp_path / "d.yaml"
    p.write_text(
        f"cloud: {{kind: simulated}}\nsimulation: {{trace: {_half_hourly(tmp_path)}, step: 30m}}\n"
        "groups:\n  - {name: web, interval: 30m, metric: {lookback: 3h}}\n"
    )
    cfg = load_config(p)
    world = load_world(cfg)
    with pytest.raises(WorldError, match=r"^samples 30m apart are older than the group's"):
        world.source_for(cfg.groups[0])


def test_simulate_refuses_the_never_acting_threshold_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for extra, says in (
        ([], "error: group web: samples 30m apart are older than the group's stale_after (5m)"),
        (
            ["--config", str(_coarse_group(tmp_path, "      - kind: target\n"))],
            "error: policy threshold (its defaults; list it under the group's policies to "
            "change them): periods: 3 periods of the 30m step do not fit in metric.lookback (1h)",
        ),
    ):
        res = CliRunner().invoke(
            cli,
            ["simulate", "--trace", str(_half_hourly(tmp_path)), "--step", "30m",
             "--policy", "threshold", "--out", str(out), *extra],
        )  # fmt: skip
        assert res.exit_code == 2
        assert res.output.strip().splitlines()[-1].startswith(says)
        assert "Traceback" not in res.output and not out.exists()
