"""The factory wires real pieces: clouds.yaml -> Keystone -> adapters; config -> Prometheus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autoscaler.config import CloudConfig, GroupConfig, MetricConfig
from autoscaler.model import CloudError, SourceError
from autoscaler.registry import build_cloud, build_forecast_publisher, build_source
from tests.fakes.auth_proxy import AuthProxy
from tests.integration.adapters.conftest import BackfilledPrometheus, OpenStackCloud

pytestmark = pytest.mark.integration
GROUPS = [GroupConfig(name="web"), GroupConfig(name="api")]


def test_each_cloud_kind_is_built_from_clouds_yaml(cloud: OpenStackCloud) -> None:
    cloud.fake.add_stack("web-stack", 3)
    cloud.fake.add_stack("api", 1)
    cloud.fake.add_cluster("web", 2)
    base = {"cloud": "test", "clouds_file": str(cloud.clouds_yaml)}
    heat = build_cloud(
        CloudConfig.model_validate(
            {**base, "kind": "heat", "heat": {"web": {"stack": "web-stack"}}}
        ),
        GROUPS,
    )
    assert heat.status(GROUPS[0].spec()).ready == 3
    assert heat.status(GROUPS[1].spec()).ready == 1  # no mapping: the stack has the group's name
    senlin = build_cloud(CloudConfig.model_validate({**base, "kind": "senlin"}), GROUPS)
    assert senlin.status(GROUPS[0].spec()).ready == 2
    nova_cfg = CloudConfig.model_validate({**base, "kind": "nova", "nova": {"image": "img"}})
    assert build_cloud(nova_cfg, GROUPS).status(GROUPS[0].spec()).total == 0


def test_a_missing_cloud_entry_is_a_clear_error(cloud: OpenStackCloud) -> None:
    cfg = CloudConfig(kind="heat", cloud="nope", clouds_file=str(cloud.clouds_yaml))
    with pytest.raises(CloudError, match=r"clouds\.yaml: cannot use cloud 'nope'"):
        build_cloud(cfg, GROUPS)


def test_monasca_source_and_publisher_from_config(cloud: OpenStackCloud) -> None:
    cfg = CloudConfig(kind="heat", cloud="test", clouds_file=str(cloud.clouds_yaml))
    metric = MetricConfig.model_validate(
        {"source": "monasca", "query": "none.here", "monasca": {"publish_forecast": True}}
    )
    src = build_source(metric, cfg)
    end = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(SourceError, match=r"no data for 'none\.here'"):
        src.query("none.here", end - timedelta(minutes=5), end, timedelta(minutes=1))
    assert build_forecast_publisher(metric, cfg) is not None


def test_prometheus_source_from_config_with_a_token_variable(
    prometheus: BackfilledPrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOSCALER_TEST_PROM_TOKEN", "from-env")
    with AuthProxy(prometheus.url, token="from-env") as proxy:
        metric = MetricConfig.model_validate(
            {
                "source": "prometheus",
                "query": "nasa_http_requests",
                "prometheus": {"url": proxy.url, "token_env": "AUTOSCALER_TEST_PROM_TOKEN"},
            }
        )
        src = build_source(metric, CloudConfig())
        end = prometheus.nasa.index[-1]
        assert src.instant("nasa_http_requests", end) == prometheus.nasa.iloc[-1]
