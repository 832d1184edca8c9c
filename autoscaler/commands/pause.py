"""``autoscaler pause GROUP`` / ``resume GROUP``: stop and restart acting for a group.

A paused group is still evaluated and its decisions recorded; no action reaches the
cloud until it is resumed. The pause is kept in the daemon's state database, so it
outlives restarts and reloads.
"""

from __future__ import annotations

import click

from autoscaler.daemon_client import DaemonClient, client_options


@click.command("pause")
@click.argument("group")
@click.option("--reason", default="", help="Why (shown by status and /v1/groups).")
@client_options
def pause(client: DaemonClient, group: str, reason: str) -> None:
    """Stop acting for GROUP (decisions are still made and recorded)."""
    view = client.post(f"/v1/groups/{group}/pause", {"reason": reason})
    click.echo(f"{view['name']}: paused since {view['paused']['at'][:19]}")


@click.command("resume")
@click.argument("group")
@client_options
def resume(client: DaemonClient, group: str) -> None:
    """Let GROUP act again."""
    view = client.post(f"/v1/groups/{group}/resume", {})
    click.echo(f"{view['name']}: resumed")
