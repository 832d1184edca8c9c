"""The operator's pack against a running daemon: the alert rules pass promtool, and
neither the rules nor the Grafana dashboard name a metric, label or label value that
``/metrics`` does not serve."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from daemon_process import DaemonProcess, wait_until
from promql_names import Exposed, problems

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "etc" / "prometheus" / "alerts.yaml"
RULE_TESTS = REPO / "etc" / "prometheus" / "alerts_test.yaml"
DASHBOARD = REPO / "etc" / "grafana" / "autoscaler.json"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (Debian's prometheus package; make system-deps)")
    return path


def _alerts() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_checks_the_rules_and_runs_their_unit_cases() -> None:
    promtool = _promtool()
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in check.stdout
    run = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # every alert has a case where it fires and one where it stays quiet
    cases = [
        c for t in yaml.safe_load(RULE_TESTS.read_text())["tests"] for c in t["alert_rule_test"]
    ]
    for alert in _alerts():
        mine = [c for c in cases if c["alertname"] == alert["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"{alert['alert']}: no case where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{alert['alert']}: no quiet case"


def _dashboard_queries() -> list[tuple[str, str, list[str]]]:
    board = json.loads(DASHBOARD.read_text())
    out = []
    for panel in board["panels"]:
        for t in panel.get("targets", []):
            out.append((panel["title"], t["expr"], [t.get("legendFormat", "")]))
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            out.append((f"variable {var['name']}", var["definition"], []))
    return out


def test_dashboard_and_rules_name_only_what_a_running_daemon_exposes(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "etc" / "autoscaler.yaml").read_text())
    # an advisor group, so that the forecast series and a model age are served too
    doc["groups"].append(
        {"name": "advised", "mode": "advisor", "max_size": 30, "capacity_per_instance": 100}
    )
    cfg = tmp_path / "autoscaler.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    d = DaemonProcess(
        [
            *("--config", str(cfg), "--state-dir", str(tmp_path / "state")),
            *("--speedup", "1800", "--port", "0", "--log-format", "json"),
        ]
    )
    try:
        wait_until(
            lambda: (
                'autoscaler_model_age_seconds{group="advised"}' in d.get("/metrics")[1]
                and "autoscaler_forecast_load_mean" in d.get("/metrics")[1]
            ),
            60,
            "the advisor group's model and forecast on /metrics",
        )
        code, text = d.get("/metrics")
        assert code == 200
        assert d.stop() == 0
    finally:
        d.kill()
    exposed = Exposed.from_text(text)
    found = []
    for title, expr, legends in _dashboard_queries():
        found += [f"dashboard {title!r}: {p}" for p in problems(expr, exposed, legends)]
    for alert in _alerts():
        notes = list(alert.get("annotations", {}).values())
        found += [f"alert {alert['alert']}: {p}" for p in problems(alert["expr"], exposed, notes)]
    assert not found, "\n".join(found)
    # and the checker itself catches a wrong name, label and value
    assert problems("autoscaler_nope", exposed)
    assert problems('autoscaler_errors_total{phase="x"}', exposed)
    assert problems('autoscaler_group_mode{mode="acting"}', exposed)
    assert problems("sum by (zone) (autoscaler_errors_total)", exposed)
