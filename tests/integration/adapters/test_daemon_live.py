"""``autoscaler run`` against real services: Keystone (real), Heat (the project's fake at
the HTTP level) and Prometheus (real, backfilled with the NASA trace). It lives here to
share this folder's session fixtures (one Keystone, one Prometheus per test run)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.fakes.keystone_server import ADMIN_PASSWORD
from tests.integration.adapters.conftest import BackfilledPrometheus, OpenStackCloud
from tests.integration.daemon.daemon_process import DaemonProcess, wait_until

pytestmark = pytest.mark.integration


def test_daemon_scales_a_heat_stack_on_prometheus_data_through_keystone(
    cloud: OpenStackCloud, prometheus: BackfilledPrometheus, tmp_path: Path
) -> None:
    stack = cloud.fake.add_stack("web", 1)
    cfg = tmp_path / "autoscaler.yaml"
    group = {
        "name": "web",
        "min_size": 1,
        "max_size": 6,
        "capacity_per_instance": 20,  # NASA requests per minute: hundreds, so it scales out
        "metric": {
            "source": "prometheus",
            # The backfilled data ends ten minutes ago: read it shifted to the present.
            "query": "nasa_http_requests offset 15m",
            "lookback": "30m",
            "prometheus": {"url": prometheus.url},
        },
        "policies": [{"kind": "target"}],
    }
    cfg.write_text(
        yaml.safe_dump(
            {
                "cloud": {"kind": "heat", "cloud": "test", "clouds_file": str(cloud.clouds_yaml)},
                "groups": [group],
            }
        )
    )
    state = tmp_path / "state"
    d = DaemonProcess(["--config", str(cfg), "--state-dir", str(state), "--port", "0"])
    try:
        try:
            wait_until(lambda: stack["parameters"]["desired_capacity"] != "1", 30, "an update")
        except AssertionError:
            raise AssertionError(
                "no stack update; the daemon said:\n" + "\n".join(d.lines)
            ) from None

        wait_until(lambda: d.get("/readyz")[0] == 200, 10, "ready")
        view = d.json("/v1/groups/web")
        action = view["last_decision"]["action"]
        assert action["direction"] == "up" and view["last_decision"]["outcome"] == "done"
        assert stack["parameters"]["desired_capacity"] == str(action["target"])
        assert view["last_decision"]["inputs"]["samples"] > 0
        assert 'autoscaler_current_capacity{group="web"} 1.0' in d.get("/metrics")[1]
        assert d.stop() == 0
    finally:
        d.kill()
    assert ADMIN_PASSWORD not in "\n".join(d.lines)
    # A real cloud runs on the wall clock: one tick per 1m interval, never sped up.
    assert sum('"event":"tick"' in x for x in d.lines) == 1
    with sqlite3.connect(state / "state.db") as c:
        rows = c.execute("SELECT action_id, outcome FROM actions").fetchall()
    assert rows == [(action["id"], "done")]
    raw = b"".join(p.read_bytes() for p in state.iterdir())
    assert ADMIN_PASSWORD.encode() not in raw
