"""The config sections the adapters read: validation with file:line, and the factory's
one-line errors for secrets it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from autoscaler.adapters.prometheus_source import BearerAuth, PrometheusSource
from autoscaler.config import CloudConfig, ConfigError, load_config
from autoscaler.registry import build_source

GOOD = """\
version: 1
cloud:
  kind: heat
  cloud: mycloud
  heat:
    web: {stack: web-stack, mode: signal}
groups:
  - name: web
    metric:
      source: prometheus
      query: sum(rate(http_requests_total[1m]))
      prometheus:
        url: https://prom.example:9090
        token_file: /etc/autoscaler/prom-token
        ca_file: /etc/ssl/ca.pem
        timeout: 5s
  - name: api
    metric:
      source: monasca
      query: http.requests
      monasca: {dimensions: {service: api}, statistic: sum, publish_forecast: true}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "autoscaler.yaml"
    p.write_text(text)
    return p


def test_a_full_adapter_config_validates(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.cloud.heat["web"].mode == "signal" and cfg.cloud.heat["web"].resource == "asg"
    prom = cfg.groups[0].metric.prometheus
    assert prom is not None and prom.timeout.total_seconds() == 5
    assert cfg.groups[1].metric.monasca.dimensions == {"service": "api"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("        timeout: 5s", "        token_env: PROM_TOKEN",
         r":12: groups\[0\]\.metric\.prometheus: .*file or as an environment variable, not both"),
        ("        token_file: /etc/autoscaler/prom-token", "        username: ops",
         r":12: groups\[0\]\.metric\.prometheus: basic auth needs both"),
        ("        url: https://prom.example:9090", "        url: prom.example",
         r":13: groups\[0\]\.metric\.prometheus\.url: String should match"),
        ("      prometheus:\n", "      prom:\n", r"groups\[0\]\.metric\.prom: unknown field"),
        ("      query: http.requests\n", "", r"groups\[1\]\.metric: source monasca needs a query"),
        ("statistic: sum", "statistic: p95", r"groups\[1\]\.metric\.monasca\.statistic"),
        ("mode: signal", "mode: poke", r":6: cloud\.heat\.web\.mode: Input should be"),
        ("  kind: heat", "  kind: nova", r"cloud: kind nova needs a nova section"),
        # A misspelt key was ignored: group web then acted on a stack named "web".
        ("    web: {stack", "    Web: {stack",
         r":6: cloud\.heat\.Web: no group named 'Web' \(groups: web, api\)"),
        ("  - name: api\n", "    victims: least_loaded\n  - name: api\n",
         r":17: groups\[0\]\.victims: victims least_loaded needs a cloud that reports each "
         r"instance's load; the heat adapter does not"),
    ],
)  # fmt: skip
def test_config_errors_say_where(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, GOOD.replace(old, new, 1)))


def test_factory_reads_the_token_from_a_file_or_says_which_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    metric = cfg.groups[0].metric
    with pytest.raises(
        ConfigError, match=r"metric\.prometheus: token: cannot read /etc/autoscaler"
    ):
        build_source(metric, cfg.cloud)
    token, ca = tmp_path / "token", tmp_path / "ca.pem"
    token.write_text("abc\n")
    prom = metric.prometheus
    assert prom is not None
    fixed = metric.model_copy(
        update={
            "prometheus": prom.model_copy(update={"token_file": str(token), "ca_file": str(ca)})
        }
    )
    with pytest.raises(ConfigError, match=r"metric\.prometheus\.ca_file: no such file"):
        build_source(fixed, cfg.cloud)
    ca.write_text("not checked here")
    src = build_source(fixed, CloudConfig())
    assert isinstance(src, PrometheusSource) and src.timeout == 5.0
    req = requests.Request("GET", "https://prom.example").prepare()
    assert isinstance(src._session.auth, BearerAuth)
    assert src._session.auth(req).headers["Authorization"] == "Bearer abc"
