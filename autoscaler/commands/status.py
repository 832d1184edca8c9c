"""``autoscaler status``: what a running daemon is doing, read from its HTTP API."""

from __future__ import annotations

import click

from autoscaler.daemon_client import DaemonClient, client_options, expect_shape


@click.command("status")
@client_options
def status(client: DaemonClient) -> None:
    """Show readiness and each group's size, mode, last decision and cooldowns."""
    ready = client.get("/readyz", ok_codes=(200, 503))
    body = client.get("/v1/groups")
    with expect_shape(client.url.rstrip("/") + "/v1/groups"):
        _print_status(client.url, ready, body["groups"])


def _print_status(url: str, ready: dict, groups: list) -> None:
    click.echo(f"daemon at {url}: {'ready' if ready['ready'] else 'NOT READY'}")
    for reason in ready.get("reasons", []):
        click.echo(f"  - {reason}")
    for notice in ready.get("notices", []):
        click.echo(f"  ! {notice}")
    if not groups:
        click.echo("no groups")
        return
    click.echo(f"{'GROUP':<16} {'SIZE':>5} {'MIN':>4} {'MAX':>4}  {'LAST DECISION':<40} COOLDOWN")
    for g in groups:
        last = g.get("last_decision") or {}
        size = "?" if g.get("current_size") is None else str(g["current_size"])
        click.echo(
            f"{g['name']:<16} {size:>5} {g['min_size']:>4} {g['max_size']:>4}  "
            f"{_decision(last):<40} {_cooldowns(g.get('cooldowns') or {})}"
        )
        mode = g.get("mode", "active")
        if mode != "active":
            click.echo(f"{'':<16} mode: {mode} (decisions are recorded, never acted on)")
        if g.get("paused"):
            p = g["paused"]
            why = f": {p['reason']}" if p.get("reason") else ""
            click.echo(f"{'':<16} PAUSED since {p['at'][:19]}{why} (autoscaler resume {g['name']})")
        if g.get("config_error"):
            click.echo(f"{'':<16} config: {g['config_error']}")


def _decision(d: dict) -> str:
    if not d:
        return "none yet"
    if d.get("error"):
        return f"error ({d.get('stage')}): {d['error']}"[:40]
    action = d.get("action")
    at = str(d.get("at", ""))[:16]
    if action:
        return f"{at} {action['current']}->{action['target']} {action['direction']}"
    guard = f" [{d['guard']}]" if d.get("guard") else ""
    return f"{at} hold at {d.get('desired')}{guard}"


def _cooldowns(c: dict) -> str:
    active = sorted((k, v) for k, v in c.items() if v.get("active"))
    return ", ".join(f"{k} until {v['until'][11:19]}" for k, v in active) or "-"
