"""The daemon's forecaster survives a ``kill -9``: it trains on the whole training window
read back from a real Prometheus (backfilled with the NASA trace), keeps the fitted model
in its model store, and after a restart forecasts from that model at once (no fallback).
Real Keystone and the project's fake Heat serve the cloud, as in ``test_daemon_live``."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.integration.adapters.conftest import BackfilledPrometheus, OpenStackCloud
from tests.integration.daemon.daemon_process import DaemonProcess, wait_until

pytestmark = pytest.mark.integration


def _audit(db: Path, after: int = 0) -> list[tuple[int, dict]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT id, record FROM audit WHERE id > ? ORDER BY id", (after,))
        return [(i, json.loads(r)) for i, r in rows.fetchall()]


def test_restart_forecasts_from_the_stored_model_trained_on_the_whole_window(
    cloud: OpenStackCloud, prometheus: BackfilledPrometheus, tmp_path: Path
) -> None:
    cloud.fake.add_stack("web", 2)
    group = {
        "name": "web",
        "min_size": 1,
        "max_size": 20,
        "capacity_per_instance": 100,
        "interval": "2s",
        "metric": {
            "source": "prometheus",
            "query": "nasa_http_requests offset 15m",  # the backfill ends 10 minutes ago
            "lookback": "30m",
            "prometheus": {"url": prometheus.url},
        },
        "policies": [{"kind": "predictive_target"}],
        "forecaster": {
            "model": "level",
            "train_window": "7d",
            "retrain": "1h",
            "params": {"calibrated": True},  # the conformal wrapper, stored and restored
        },
    }
    cfg = tmp_path / "autoscaler.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "cloud": {"kind": "heat", "cloud": "test", "clouds_file": str(cloud.clouds_yaml)},
                "groups": [group],
            }
        )
    )
    state = tmp_path / "state"
    db, models = state / "state.db", state / "models" / "web"
    args = ["--config", str(cfg), "--state-dir", str(state), "--port", "0"]

    first = DaemonProcess(args)
    try:

        def from_model() -> bool:
            fcs = [r["forecast"] for _, r in _audit(db) if r.get("forecast")]
            own = bool(fcs) and "fell back" not in fcs[-1]["note"]
            return own and (models / "CURRENT").exists()

        wait_until(from_model, 60, "a forecast from the fitted model")
        first.proc.kill()  # SIGKILL: no handler, no clean stop
        first.proc.wait(10)
    finally:
        first.kill()
    versions = sorted(p.name for p in models.iterdir() if p.name.startswith("v"))
    meta = json.loads((models / versions[-1] / "meta.json").read_text())
    trained = pd.Timestamp(meta["trained_to"]) - pd.Timestamp(meta["trained_from"])
    # the whole seven-day window came back from Prometheus, not the 30-minute lookback
    assert trained >= timedelta(days=7) - timedelta(minutes=2), meta
    last_id = _audit(db)[-1][0]

    second = DaemonProcess(args)
    try:
        wait_until(lambda: _audit(db, last_id), 30, "a tick after the restart")
        _, record = _audit(db, last_id)[0]
        assert second.stop() == 0
    finally:
        second.kill()
    forecast = record["forecast"]
    assert forecast is not None and forecast["model"] == "level"
    assert "fell back" not in forecast["note"], (
        "the first forecast after the restart is no fallback"
    )
    assert "conformal" in forecast["note"]  # the calibrated model, stored and restored
    assert sorted(p.name for p in models.iterdir() if p.name.startswith("v"))[-1] == versions[-1]
