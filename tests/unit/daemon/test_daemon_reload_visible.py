"""A rejected config reload is visible: /readyz stays ready but names the rejection
and its reason, and a counter counts rejected reloads; an applied one clears it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml
from daemon_fakes import FakeWorld, NullScheduler, config, group

from autoscaler.daemon.http_api import ApiServer


def _readyz(d) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    api = ApiServer(d, d.metrics.registry, "127.0.0.1", 0)
    api.start()
    try:
        host, port = api.address
        with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=5) as r:
            return r.status, json.loads(r.read())
    finally:
        api.stop()


def _reloads(d, outcome: str) -> float | None:  # type: ignore[no-untyped-def]
    return d.metrics.registry.get_sample_value(
        "autoscaler_config_reloads_total", {"outcome": outcome}
    )


def test_a_rejected_reload_is_shown_by_readyz_and_counted(make_daemon, tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    d = make_daemon(config(group("web")), FakeWorld({"web": 3}, {"web": 100.0}), config_path=path)
    d._scheduler = NullScheduler()
    assert _reloads(d, "rejected") == 0.0 and _readyz(d) == (
        200,
        {"ready": True, "reasons": [], "notices": []},
    )

    path.write_text("groups: []\n")  # drops every group: refused
    d.reload()
    code, body = _readyz(d)
    assert code == 200 and body["ready"] is True and body["reasons"] == []
    (notice,) = body["notices"]
    assert notice.startswith("config reload rejected at 2026-01-05T12:00:00+00:00: ")
    assert f"{path}: no groups; keeping the running configuration" in notice
    assert notice.endswith("; running the previous configuration") and "\n" not in notice
    assert _reloads(d, "rejected") == 1.0 and list(d.groups) == ["web"]

    path.write_text("groups:\n  - name: web\n    interval: 0s\n    max_size: -1\n")
    d.reload()  # web is broken in the new file: it keeps its running settings
    (notice,) = _readyz(d)[1]["notices"]
    assert notice.startswith("config reload partial at ")
    assert "groups[0].interval: must be at least 1s" in notice and "(and 1 more)" in notice
    assert notice.endswith("the broken groups keep their previous configuration")
    assert _reloads(d, "partial") == 1.0 and d.groups["web"].config.max_size == 20

    path.write_text("daemon: {bind: [1, 2]}\ngroups: [{name: web}]\n")  # a broken section
    d.reload()
    (notice,) = _readyz(d)[1]["notices"]
    assert notice.startswith("config reload rejected at ") and "daemon.bind" in notice
    assert _reloads(d, "rejected") == 2.0

    path.write_text(yaml.safe_dump({"groups": [group("web", max_size=30)]}))
    d.reload()
    assert _readyz(d)[1]["notices"] == [] and d.groups["web"].config.max_size == 30
    assert _reloads(d, "applied") == 1.0 and _reloads(d, "rejected") == 2.0


def test_status_prints_the_notice() -> None:
    import contextlib
    import io

    from autoscaler.commands.status import _print_status

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_status(
            "http://x", {"ready": True, "reasons": [], "notices": ["config reload rejected: x"]}, []
        )
    assert "  ! config reload rejected: x" in out.getvalue()
