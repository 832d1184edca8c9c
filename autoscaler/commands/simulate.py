"""``autoscaler simulate``: replay a trace through the engine against the simulated cloud."""

from __future__ import annotations

import click


@click.command("simulate")
def simulate() -> None:
    """Compare scaling policies on a trace (being built)."""
    raise click.ClickException("not built yet")
