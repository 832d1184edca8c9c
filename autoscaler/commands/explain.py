"""``autoscaler explain GROUP``: why a running daemon made its last decisions."""

from __future__ import annotations

import urllib.parse

import click

from autoscaler.daemon_client import DEFAULT_URL, expect_shape, fetch_json


@click.command("explain")
@click.argument("group")
@click.option("--last", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option(
    "--url", default=DEFAULT_URL, envvar="AUTOSCALER_URL", show_default=True, help="Daemon URL."
)
def explain(group: str, last: int, url: str) -> None:
    """Print GROUP's last decisions: inputs, forecast, each vote, guards and the outcome."""
    path = f"/v1/groups/{urllib.parse.quote(group, safe='')}/decisions?last={last}"
    body = fetch_json(url, path)
    with expect_shape(url.rstrip("/") + path):
        decisions = body["decisions"]
        if not decisions:
            click.echo(f"{group}: no decisions recorded yet")
        for d in decisions:
            click.echo(_explain(d))


def _explain(d: dict) -> str:
    lines = [f"{str(d.get('at'))[:19]}  {d.get('group')}"]
    if d.get("event") == "reconcile":
        lines.append(
            f"  reconciled an interrupted action: {d.get('reconciled')} ({d.get('detail')})"
        )
    status = d.get("status")
    if status:
        lines.append(
            f"  cloud: {status['ready']} ready, {status['booting']} booting"
            + (f", {status['failed']} failed boots" if status.get("failed") else "")
            + (", action in flight" if status.get("in_flight") else "")
        )
    inputs = d.get("inputs")
    if inputs:
        lines.append(
            f"  load: last {inputs['last']}, mean {inputs['mean']} over {inputs['samples']} "
            f"samples ({inputs['gaps']} gaps)"
        )
    fc = d.get("forecast")
    if fc:
        qs = ", ".join(f"q{q}={v['next']}" for q, v in fc.get("quantiles", {}).items())
        note = f" [{fc['note']}]" if fc.get("note") else ""
        lines.append(
            f"  forecast ({fc['model']}): next {fc['mean_next']}{', ' + qs if qs else ''}{note}"
        )
    for v in d.get("votes", []):
        lines.append(f"  vote {v['policy']}: {v['desired']} ({v['reason']})")
    if d.get("combined") is not None:
        lines.append(f"  combined: {d['combined']}; after guards: {d.get('desired')}")
    if d.get("guard"):
        lines.append(f"  guards: {d['guard']}")
    action = d.get("action")
    if action:
        lines.append(
            f"  action {action['id']}: {action['current']} -> {action['target']} "
            f"({action['direction']}), outcome {d.get('outcome')}"
        )
        if action.get("placements"):
            lines.append(f"  placed on: {', '.join(_where(p) for p in action['placements'])}")
        if action.get("victims"):
            lines.append(f"  victims: {', '.join(action['victims'])}")
    else:
        lines.append(f"  outcome: {d.get('outcome')}")
    if d.get("error"):
        lines.append(f"  error in {d.get('stage')}: {d['error']}")
    return "\n".join(lines)


def _where(p: dict) -> str:
    """One placement as ``host (zone)``; neither named: no host had room when planned, so
    the cloud chose (and found none either, unless room was freed meanwhile)."""
    if p.get("host"):
        return f"{p['host']} ({p['zone']})" if p.get("zone") else str(p["host"])
    return p.get("zone") or "no host had room"
