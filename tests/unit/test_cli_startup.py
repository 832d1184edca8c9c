"""``autoscaler --help`` and ``status`` start fast: they import no heavy library."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from autoscaler.commands import COMMAND_TABLE, load_command
from tests.fakes.status_api_stub import status_api

HEAVY = ("pandas", "pydantic", "statsmodels", "numpy", "torch", "openstack", "matplotlib")

PROBE = """
import sys
from autoscaler.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print('heavy=' + ','.join(m for m in {heavy!r} if m in sys.modules))
sys.exit(code)
"""


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def daemon_url() -> Iterator[str]:
    web = {"name": "web", "current_size": 3, "min_size": 1, "max_size": 9,
           "last_decision": None, "cooldowns": {}}  # fmt: skip
    with status_api([web]) as url:
        yield url


def test_help_imports_no_heavy_library() -> None:
    out = _probe("--help")
    assert out.returncode == 0, out.stderr
    assert "Usage:" in out.stdout and "simulate" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "heavy="


def test_status_imports_no_heavy_library(daemon_url: str) -> None:
    out = _probe("status", "--url", daemon_url)
    assert out.returncode == 0, out.stderr
    assert "web" in out.stdout and "ready" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "heavy="


@pytest.mark.parametrize("name", sorted(COMMAND_TABLE))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command is not None and command.name == name
    assert command.help is not None
    assert COMMAND_TABLE[name].short_help == command.help.split("\n\n")[0].strip()


def test_an_unknown_command_is_a_usage_error() -> None:
    out = _probe("simulat")
    assert out.returncode == 2
    assert "No such command 'simulat'" in out.stderr
