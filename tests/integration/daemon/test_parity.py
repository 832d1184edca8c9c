"""Parity: one config and one real trace through ``autoscaler simulate`` and through
``autoscaler run`` on the simulated cloud (accelerated) give the same decisions.

Both get their groups from ``registry.build_binding``; only the metric source, the
cloud and the clock differ. The config has three groups with different boot delays
(drawn at random, per group, from the same seed), reactive and predictive policies
(the predictive ones refit on the simulated schedule) and placement on shared hosts.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from daemon_process import DaemonProcess, wait_until

REPO = Path(__file__).resolve().parents[3]
NASA = REPO.parent / "shared" / "data" / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
STEPS = 360  # six hours of the NASA trace at one minute

GROUPS = [
    {
        "name": "web",
        "min_size": 2,
        "max_size": 30,
        "capacity_per_instance": 100,
        "boot_delay": {"median": "1m"},
        "placement": "pack",
        "policies": [{"kind": "target", "target": 0.6}],
    },
    {
        "name": "api",
        "min_size": 1,
        "max_size": 30,
        "capacity_per_instance": 150,
        "boot_delay": {"median": "3m"},
        "placement": "spread",
        "policies": [{"kind": "threshold"}, {"kind": "predictive_target"}],
        "forecaster": {"model": "level", "retrain": "1h", "train_window": "6h"},
    },
    {
        "name": "batch",
        "min_size": 1,
        "max_size": 30,
        "capacity_per_instance": 80,
        "interval": "2m",
        "boot_delay": {"median": "5m"},
        "placement": "interference_aware",
        "policies": [{"kind": "qos"}],
        "forecaster": {"model": "level", "retrain": "30m"},
    },
]


def _config(tmp_path: Path) -> Path:
    trace = tmp_path / "nasa.csv"
    pd.read_csv(NASA, nrows=STEPS).to_csv(trace, index=False)
    raw = {
        "flavors": {"m1.small": {"vcpus": 2, "ram_mb": 4096}},
        "hosts": [{"count": 40, "zones": ["az1", "az2"], "vcpus": 64, "ram_mb": 262144}],
        "simulation": {"trace": str(trace), "seed": 7, "peak_instances": 12},
        "daemon": {"speedup": 3000},
        "groups": [dict(g, flavor="m1.small") for g in GROUPS],
    }
    path = tmp_path / "parity.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _simulated(cfg: Path, tmp_path: Path) -> dict[str, list[tuple[str, str, str]]]:
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for g in GROUPS:
        out = tmp_path / f"sim-{g['name']}"
        policy = "+".join(p["kind"] for p in g["policies"])
        cmd = [sys.executable, "-m", "autoscaler", "simulate", "--config", str(cfg)]
        cmd += ["--group", g["name"], "--policy", policy, "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        with (out / "decisions.csv").open(encoding="utf-8") as f:
            rows[g["name"]] = [(r["time"], r["desired"], r["reason"]) for r in csv.DictReader(f)]
    return rows


def _daemon_rows(db: Path) -> dict[str, list[tuple[str, str, str]]]:
    with sqlite3.connect(db) as c:
        records = [json.loads(r) for (r,) in c.execute("SELECT record FROM audit ORDER BY id")]
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for r in records:
        desired = "" if r["desired"] is None else str(r["desired"])
        rows.setdefault(r["group"], []).append((r["at"], desired, r["reason"]))
    return rows


def test_simulate_and_run_make_the_same_decisions(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    expected = _simulated(cfg, tmp_path)
    assert {len(v) for v in expected.values()} == {STEPS, STEPS // 2}
    # the run is not trivial: every group scales both ways, the predictive ones forecast
    for name, rows in expected.items():
        sizes = [int(d) for _, d, _ in rows if d]
        assert max(sizes) > min(sizes), f"{name} never scaled"
    end = max(t for rows in expected.values() for t, _, _ in rows)

    db = tmp_path / "state" / "state.db"
    d = DaemonProcess(["--config", str(cfg), "--state-dir", str(tmp_path / "state"), "--port", "0"])
    try:

        def caught_up() -> bool:
            got = _daemon_rows(db) if db.exists() else {}
            return all(
                sum(t <= end for t, _, _ in got.get(n, [])) == len(rows)
                for n, rows in expected.items()
            )

        wait_until(caught_up, 240, "the daemon to evaluate the whole trace")
        assert d.stop() == 0
    finally:
        d.kill()
    got = _daemon_rows(db)
    for name, rows in expected.items():
        daemon = [r for r in got[name] if r[0] <= end]
        assert daemon == rows, f"group {name}: first difference at " + next(
            (f"{a} vs {b}" for a, b in zip(daemon, rows, strict=False) if a != b), "the end"
        )
