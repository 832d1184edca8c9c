"""A policy's settings against its group's (``config.policy_checks``): each of these
validated before and then read another quantile, a shorter window, or never acted."""

from __future__ import annotations

from pathlib import Path

import pytest

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
            "      - {kind: predictive_target, quantile: 0.9}\n"
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
