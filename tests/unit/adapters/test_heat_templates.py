"""The shipped Heat templates are valid HOT as far as can be checked without Heat, and each
matching autoscaler.yaml snippet passes the real config loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from autoscaler.config import load_config

ETC = Path(__file__).resolve().parents[3] / "etc"
TEMPLATES = sorted((ETC / "heat").glob("*.yaml"))
HOT = [p for p in TEMPLATES if not p.name.endswith(".autoscaler.yaml")]
SNIPPETS = [p for p in TEMPLATES if p.name.endswith(".autoscaler.yaml")] + [
    ETC / "nova-group.autoscaler.yaml"
]
KNOWN_TYPES = {
    "OS::Heat::AutoScalingGroup",
    "OS::Heat::ScalingPolicy",
    "OS::Nova::Server",
    "OS::Aodh::PrometheusAlarm",
    "OS::Senlin::Profile",
    "OS::Senlin::Cluster",
    "OS::Senlin::Receiver",
}
EXPECTED = {
    "asg-external.yaml": {"OS::Heat::AutoScalingGroup"},
    "asg-aodh-advisor.yaml": {"OS::Aodh::PrometheusAlarm", "OS::Heat::ScalingPolicy"},
    "senlin-cluster.yaml": {"OS::Senlin::Cluster", "OS::Senlin::Receiver"},
}


def references(node: Any, fn: str) -> list[Any]:
    """Every argument of the intrinsic function ``fn`` anywhere under ``node``."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == fn:
                found.append(v)
            found += references(v, fn)
    elif isinstance(node, list):
        for v in node:
            found += references(v, fn)
    return found


def test_every_template_and_snippet_is_here() -> None:
    assert {p.name for p in HOT} == set(EXPECTED)
    assert {p.name.replace(".autoscaler", "") for p in SNIPPETS} >= set(EXPECTED)


@pytest.mark.parametrize("path", HOT, ids=lambda p: p.name)
def test_template_is_consistent_hot(path: Path) -> None:
    tpl = yaml.safe_load(path.read_text())
    assert str(tpl["heat_template_version"]) == "2021-04-16"  # Wallaby's HOT version
    assert set(tpl) <= {"heat_template_version", "description", "parameters", "resources",
                        "outputs", "conditions", "parameter_groups"}  # fmt: skip
    resources = tpl["resources"]
    types = {r["type"] for r in resources.values()}
    assert types <= KNOWN_TYPES and EXPECTED[path.name] <= types
    params = set(tpl.get("parameters") or {})
    for p in tpl.get("parameters", {}).values():
        assert p["type"] in ("string", "number", "json", "comma_delimited_list", "boolean")
    for name in references(tpl, "get_param"):
        assert name in params or str(name).startswith("OS::"), f"undefined parameter {name}"
    for name in references(tpl, "get_resource"):
        assert name in resources, f"undefined resource {name}"
    for args in references(tpl, "get_attr"):
        assert args[0] in resources, f"get_attr of undefined resource {args[0]}"


def test_the_external_template_exposes_what_the_heat_adapter_reads() -> None:
    tpl = yaml.safe_load((ETC / "heat" / "asg-external.yaml").read_text())
    asg = tpl["resources"]["asg"]
    assert asg["type"] == "OS::Heat::AutoScalingGroup"
    assert asg["properties"]["desired_capacity"] == {"get_param": "desired_capacity"}
    snippet = load_config(ETC / "heat" / "asg-external.autoscaler.yaml")
    heat = snippet.cloud.heat["web"]
    assert (heat.resource, heat.capacity_parameter) == ("asg", "desired_capacity")


def test_the_advisor_alarms_query_the_exported_gauge() -> None:
    tpl = yaml.safe_load((ETC / "heat" / "asg-aodh-advisor.yaml").read_text())
    alarms = [r for r in tpl["resources"].values() if r["type"] == "OS::Aodh::PrometheusAlarm"]
    assert {a["properties"]["comparison_operator"] for a in alarms} == {"gt", "lt"}
    for a in alarms:
        template = a["properties"]["query"]["str_replace"]["template"]
        assert template.startswith("autoscaler_forecast_utilization{")
        (action,) = a["properties"]["alarm_actions"]
        assert action["str_replace"]["params"]["URL"]["get_attr"][1] == "signal_url"
    (advised,) = load_config(ETC / "heat" / "asg-aodh-advisor.autoscaler.yaml").groups
    assert advised.mode == "advisor" and advised.spec().dry_run
    assert 0.9 in advised.forecaster.quantiles, "the alarms' default quantile is exported"


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_is_a_valid_config(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.cloud.kind in ("nova", "heat", "senlin") and cfg.groups
