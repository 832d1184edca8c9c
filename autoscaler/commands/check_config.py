"""``autoscaler check-config FILE``: validate a config and report every problem at once."""

from __future__ import annotations

import sys

import click

from autoscaler.config import ConfigError, load_config
from autoscaler.errors import printable


@click.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Validate the configuration file PATH; exit 0 if valid, else print every error and exit 2."""
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        for line in exc.errors:
            click.echo(f"error: {printable(line)}", err=True)
        sys.exit(2)
    click.echo(f"{path}: OK ({len(cfg.groups)} group(s), cloud: {cfg.cloud.kind})")
