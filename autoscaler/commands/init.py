"""``autoscaler init DIR``: write the example config, templates, dashboard, alerts, unit
and docs that the package carries, so that ``pip install`` alone is enough to install."""

from __future__ import annotations

import click

from autoscaler.errors import UserError


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(directory: str, force: bool) -> None:
    """Write etc/, systemd/ and docs/ under DIRECTORY (e.g. /opt/autoscaler)."""
    from pathlib import Path

    from autoscaler.operator_files import InitError, write_operator_files

    try:
        written = write_operator_files(Path(directory), force=force)
    except InitError as exc:
        raise UserError(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(
        f"next: check-config {Path(directory) / 'etc' / 'autoscaler.yaml'}, then "
        f"the install steps of {Path(directory) / 'docs' / 'daemon.md'}"
    )
