"""``autoscaler run``: the daemon (see ``autoscaler/daemon``)."""

from __future__ import annotations

import sys

import click

from autoscaler.commands.options import FiniteFloat
from autoscaler.errors import UserError
from autoscaler.limits import MAX_SPEEDUP


@click.command("run")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="YAML configuration (etc/autoscaler.yaml runs on the simulated cloud).",
)
@click.option(
    "--state-dir",
    default=None,
    help="Where state.db lives [default: $STATE_DIRECTORY, else daemon.state_dir].",
)
@click.option(
    "--speedup",
    type=FiniteFloat(0, MAX_SPEEDUP, low_open=True),
    default=None,
    help="Simulated cloud only: simulated seconds per real second (60: a minute a second).",
)
@click.option("--bind", default=None, help="HTTP address [default: daemon.bind, 127.0.0.1].")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="HTTP port; 0 picks a free one."
)
@click.option("--log-format", type=click.Choice(["json", "text"]), default=None)
def run(
    config_path: str,
    state_dir: str | None,
    speedup: float | None,
    bind: str | None,
    port: int | None,
    log_format: str | None,
) -> None:
    """Run the autoscaler: evaluate every group at its interval until SIGTERM."""
    from pathlib import Path

    from autoscaler.daemon.main import RunOptions, StartError, run_daemon

    opts = RunOptions(Path(config_path), state_dir, speedup, bind, port, log_format)
    try:
        code = run_daemon(opts)
    except StartError as exc:
        raise UserError(str(exc)) from None
    sys.exit(code)
