"""The Heat + Aodh advisor path end to end: a real Prometheus scrapes a daemon running
``etc/heat/asg-aodh-advisor.autoscaler.yaml``'s group in advisor mode on the simulated
cloud, and the query of each ``OS::Aodh::PrometheusAlarm`` in
``etc/heat/asg-aodh-advisor.yaml`` (with the template's default parameters), run against
that Prometheus as Aodh runs it, returns the daemon's forecast and is past the alarm's
threshold exactly when the forecast is."""

from __future__ import annotations

import itertools
import operator
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from daemon_process import DaemonProcess, wait_until

from tests.fakes.prometheus_server import PrometheusProcess

REPO = Path(__file__).resolve().parents[3]
HEAT = REPO / "etc" / "heat"
COMPARE = {"gt": operator.gt, "lt": operator.lt, "ge": operator.ge, "le": operator.le}


def _param(node: Any, params: dict[str, Any]) -> Any:
    """Resolve ``get_param`` and ``str_replace`` with the template's defaults."""
    if isinstance(node, dict) and "get_param" in node:
        return params[node["get_param"]]["default"]
    if isinstance(node, dict) and "str_replace" in node:
        text = node["str_replace"]["template"]
        for key, value in node["str_replace"]["params"].items():
            text = text.replace(key, str(_param(value, params)))
        return text
    return node


def alarms() -> list[tuple[str, str, float, str]]:
    """(resource, query, threshold, comparison) of every PrometheusAlarm."""
    tpl = yaml.safe_load((HEAT / "asg-aodh-advisor.yaml").read_text())
    out = []
    for name, res in tpl["resources"].items():
        if res["type"] == "OS::Aodh::PrometheusAlarm":
            p = res["properties"]
            params = tpl["parameters"]
            out.append(
                (
                    name,
                    _param(p["query"], params),
                    float(_param(p["threshold"], params)),
                    p["comparison_operator"],
                )
            )
    return out


def advisor_config(tmp_path: Path) -> tuple[Path, dict]:
    """The advisor example's group, on the simulated cloud and the bundled trace."""
    doc = yaml.safe_load((HEAT / "asg-aodh-advisor.autoscaler.yaml").read_text())
    (grp,) = doc["groups"]
    assert grp["mode"] == "advisor"
    grp.pop("metric")
    grp["interval"] = "5m"
    doc["cloud"] = {"kind": "simulated"}
    path = tmp_path / "advisor.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, grp


def test_aodh_alarm_queries_follow_the_exported_forecast(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not installed (Debian's prometheus package; make system-deps)")
    cfg, grp = advisor_config(tmp_path)
    d = DaemonProcess(
        [
            *("--config", str(cfg), "--state-dir", str(tmp_path / "state")),
            *("--speedup", "1800", "--port", "0", "--log-format", "json"),
        ]
    )
    prom = None
    try:
        prom = PrometheusProcess(
            tmp_path / "prom", tmp_path, scrape=[d.url.removeprefix("http://")]
        )
        found = alarms()
        assert {a[3] for a in found} == {"gt", "lt"}
        query = found[0][1]
        assert all(a[1] == query for a in found), "both alarms read the same series"

        def raw() -> list[tuple[float, float]]:
            r = requests.get(
                f"{prom.url}/api/v1/query",
                params={"query": f"{query}[10m]", "time": time.time()},
                timeout=5,
            ).json()
            result = r["data"]["result"]
            return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []

        wait_until(lambda: len(raw()) >= 25, 60, "25 scrapes of the forecast")
        decisions = d.json(f"/v1/groups/{grp['name']}/decisions?last=1000")["decisions"]
        samples = raw()
        # What Aodh's Prometheus evaluator gets: the instant query at its evaluation time.
        answers = []
        for ts, _ in samples:
            r = requests.get(
                f"{prom.url}/api/v1/query", params={"query": query, "time": ts}, timeout=5
            )
            (series,) = r.json()["data"]["result"]
            answers.append(float(series["value"][1]))
        assert d.stop() == 0
    finally:
        if prom is not None:
            prom.stop()
        d.kill()

    capacity = float(grp["capacity_per_instance"])
    quantile = query.split('quantile="')[1].split('"')[0]
    exported = [
        rec["forecast"]["quantiles"][quantile]["next"] / (rec["status"]["ready"] * capacity)
        for rec in decisions
        if rec.get("forecast") and rec.get("status")
    ]
    assert exported, "the advisor group forecast"
    tol = 6e-5 / capacity  # the audit record keeps 4 decimals of the load
    # Each scraped value is what one tick exported, in the order the ticks ran.
    at = 0
    matched = []
    for ts, value in samples:
        while at < len(exported) and abs(exported[at] - value) > tol:
            at += 1
        assert at < len(exported), f"scraped {value} at {ts} was never exported (in order)"
        matched.append((ts, value, exported[at]))

    crossings = 0
    for name, _, threshold, op in found:
        states = []
        for (ts, value, forecast), answered in zip(matched, answers, strict=True):
            assert answered == value
            if abs(forecast - threshold) > tol:  # a tie within rounding says nothing
                assert COMPARE[op](answered, threshold) == COMPARE[op](forecast, threshold), (
                    name,
                    ts,
                    answered,
                    forecast,
                )
                states.append(COMPARE[op](answered, threshold))
        crossings += sum(a != b for a, b in itertools.pairwise(states))
    assert crossings >= 1, f"the forecast never crossed a threshold: {[m[1] for m in matched]}"
