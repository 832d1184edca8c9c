"""``pip install`` alone gives an operator what the host install needs: the wheel
carries the example configs, Heat templates, dashboard, alerts, unit and docs, and
``autoscaler init DIR`` writes them out."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner

from autoscaler.cli import cli

REPO = Path(__file__).resolve().parents[1].parent
NEEDED = (
    "etc/autoscaler.yaml",
    "etc/heat/asg-aodh-advisor.yaml",
    "etc/grafana/autoscaler.json",
    "etc/prometheus/alerts.yaml",
    "systemd/autoscaler.service",
    "docs/daemon.md",
)


def test_the_wheel_carries_the_operator_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        rel = Path(name.decode())
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in NEEDED:
        assert f"autoscaler/{rel}" in names, rel


def test_init_writes_them_and_the_example_is_valid(tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    r = CliRunner().invoke(cli, ["init", str(dest)])
    assert r.exit_code == 0, r.output
    for rel in NEEDED:
        assert (dest / rel).read_bytes() == (REPO / rel).read_bytes(), rel
    r = CliRunner().invoke(cli, ["check-config", str(dest / "etc" / "autoscaler.yaml")])
    assert r.exit_code == 0, r.output
    # a second init refuses to overwrite, in one line, and writes nothing
    (dest / "docs" / "daemon.md").write_text("edited")
    r = CliRunner().invoke(cli, ["init", str(dest)])
    assert r.exit_code == 2 and "--force" in r.output and "Traceback" not in r.output
    assert (dest / "docs" / "daemon.md").read_text() == "edited"
    r = CliRunner().invoke(cli, ["init", str(dest), "--force"])
    assert r.exit_code == 0 and (dest / "docs" / "daemon.md").read_bytes() != b"edited"
