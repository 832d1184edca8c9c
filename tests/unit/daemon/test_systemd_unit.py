"""The shipped unit file: ``systemd-analyze verify`` is clean and the hardening is "OK"."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[3] / "systemd" / "autoscaler.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _unit_with_existing_binary(tmp_path: Path) -> Path:
    """verify checks that ExecStart exists; point it at this venv's real ``autoscaler``."""
    exe = Path(sys.executable).parent / "autoscaler"
    assert exe.exists(), exe
    text = UNIT.read_text().replace("/opt/autoscaler/venv/bin/autoscaler", str(exe))
    out = tmp_path / "autoscaler.service"
    out.write_text(text)
    return out


def test_unit_declares_what_the_issue_asks_for() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "StateDirectory=autoscaler",
        "DynamicUser=yes",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line
    assert re.search(r"^WatchdogSec=\d+s$", text, re.M)


@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    unit = _unit_with_existing_binary(tmp_path)
    r = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert unit.name not in r.stderr, r.stderr  # no warning about our unit


@needs_analyze
def test_security_exposure_is_ok(tmp_path: Path) -> None:
    unit = _unit_with_existing_binary(tmp_path)
    r = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", r.stdout)
    assert m is not None, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0 and m.group(2) == "OK", m.group(0)


def test_the_documentation_the_unit_names_is_installed_by_the_install_steps() -> None:
    docs = UNIT.parents[1] / "docs"
    steps = (docs / "daemon.md").read_text()
    links = re.findall(r"^Documentation=(.+)$", UNIT.read_text(), re.M)
    assert links
    for link in links[0].split():
        assert link.startswith("file:///opt/autoscaler/docs/"), link
        name = link.rsplit("/", 1)[1]
        assert (docs / name).is_file(), f"{name} is not in docs/"
        # the install steps copy docs/*.md to the folder the link points into
        assert "sudo install -m 0644 docs/*.md /opt/autoscaler/docs/" in steps


def test_the_readme_shows_run_with_its_required_config() -> None:
    readme = (UNIT.parents[1] / "README.md").read_text()
    runs = re.findall(r"^autoscaler run .*$", readme, re.M)
    assert runs and all(r.startswith("autoscaler run --config ") for r in runs), runs
