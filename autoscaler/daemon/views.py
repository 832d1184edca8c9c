"""The JSON view of one running group, as ``/v1/groups`` and ``autoscaler status`` show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autoscaler.config import GroupConfig
from autoscaler.daemon.groups import GroupRuntime
from autoscaler.daemon.records import iso
from autoscaler.daemon.state import SqliteStateStore


def group_mode(cfg: GroupConfig) -> str:
    """``advisor``, ``dry_run`` or ``active`` (the ``autoscaler_group_mode`` label)."""
    if cfg.mode == "advisor":
        return "advisor"
    return "dry_run" if cfg.dry_run else "active"


def group_view(
    rt: GroupRuntime, store: SqliteStateStore, now: datetime, paused: dict[str, str] | None
) -> dict[str, Any]:
    """Size, bounds, last decision, forecast, cooldowns, pause and errors of ``rt``."""
    last = rt.last or {}
    status = last.get("status") or {}
    spec = rt.binding.spec
    cooldowns = {}
    for direction, at in store.cooldowns(rt.name).items():
        until = datetime.fromisoformat(at) + (
            spec.cooldown_up if direction == "up" else spec.cooldown_down
        )
        cooldowns[direction] = {"last_action": at, "until": iso(until), "active": until > now}
    return {
        "name": rt.name,
        "mode": group_mode(rt.config),
        "paused": paused,
        "current_size": (status.get("ready", 0) + status.get("booting", 0)) if status else None,
        "ready": status.get("ready"),
        "booting": status.get("booting"),
        "min_size": spec.min_size,
        "max_size": spec.max_size,
        "interval": rt.config.interval.total_seconds(),
        "last_decision": last or None,
        "forecast": last.get("forecast"),
        "cooldowns": cooldowns,
        "source_failures": rt.source.consecutive_failures,
        "config_error": rt.config_error,
    }
