"""``autoscaler run`` as a real subprocess on a simulated cloud with hosts: scale-outs go
where the group's placement policy says, the journal keeps the placements, and
``autoscaler explain`` against the running daemon shows them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from daemon_process import AUTOSCALER, DaemonProcess, wait_until

CONFIG = """\
flavors:
  m1.medium: {vcpus: 2, ram_mb: 4096}
simulation: {trace: TRACE, peak_instances: 10, seed: 1}
daemon: {speedup: 600}
hosts:
  - {count: 4, zones: [az1, az2], vcpus: 8, cpu_allocation_ratio: 1.0}
groups:
  - name: web
    flavor: m1.medium
    min_size: 1
    max_size: 10
    cooldown_up: 0s
    cooldown_down: 0s
    boot_delay: 1m
    placement: spread
    policies: [{kind: target, target: 0.7}]
"""


def test_hosted_daemon_journals_and_explains_its_placements(tmp_path: Path) -> None:
    load = np.concatenate([np.full(60, 100.0), np.linspace(100, 1000, 60), np.full(60, 1000.0)])
    index = pd.date_range("2026-01-05", periods=len(load), freq="1min", tz="UTC")
    trace = tmp_path / "ramp.csv"
    pd.DataFrame({"timestamp": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": load}).to_csv(
        trace, index=False
    )
    cfg = tmp_path / "autoscaler.yaml"
    cfg.write_text(CONFIG.replace("TRACE", str(trace)))
    d = DaemonProcess(["--config", str(cfg), "--state-dir", str(tmp_path / "state"), "--port", "0"])

    def placed() -> list[dict]:
        recs = d.json("/v1/groups/web/decisions?last=1000")["decisions"]
        return [r for r in recs if r.get("action") and r["action"]["placements"]]

    try:
        # the ramp climbs from 2 to 10 instances within ~60 simulated minutes (6 s here)
        wait_until(
            lambda: sum(len(r["action"]["placements"]) for r in placed()) >= 6,
            30,
            "six instances placed",
        )
        explained = subprocess.run(
            [AUTOSCALER, "explain", "web", "--last", "1000", "--url", d.url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert d.stop(timeout=10) == 0
    finally:
        d.kill()
    assert explained.returncode == 0, explained.stderr
    lines = [x for x in explained.stdout.splitlines() if x.startswith("  placed on: ")]
    assert lines and all("cmp-" in x for x in lines)

    with sqlite3.connect(tmp_path / "state" / "state.db") as c:
        rows = c.execute(
            "SELECT current, target, placements FROM actions WHERE target > current"
        ).fetchall()
    hosts = [p["host"] for *_, text in rows for p in json.loads(text)]
    assert all(len(json.loads(text)) == t - cur for cur, t, text in rows)
    # spread on 4 hosts with room for 16: every new instance got a host, and with the
    # 2 initial ones 8 or more instances went round all four hosts
    assert None not in hosts and len(hosts) >= 6
    assert set(hosts) == {"cmp-1", "cmp-2", "cmp-3", "cmp-4"}
