"""JSON views of the engine's values, shared by the audit log, the logs and the HTTP API.

Each function returns plain dicts/lists/numbers/strings (``json.dumps``-able) and
never raises on odd values: NaN and infinities become ``None``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from autoscaler.decisions import decision_reason
from autoscaler.model import (
    Forecast,
    MetricWindow,
    Placement,
    ScaleAction,
    TickOutcome,
    WindowSeen,
    ensure_utc,
)


def _num(x: float) -> float | None:
    x = float(x)
    return round(x, 4) if math.isfinite(x) else None


def iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t is not None else None


def window_summary(w: MetricWindow) -> dict[str, Any]:
    """Size, newest value and mean of the observed window (never the whole window)."""
    finite = w.values[np.isfinite(w.values)] if len(w) else w.values
    return {
        "samples": len(w),
        "gaps": int(len(w) - len(finite)),
        "last": _num(w.last),
        "mean": _num(finite.mean()) if len(finite) else None,
        "end": iso(w.end),
    }


def seen_summary(s: WindowSeen) -> dict[str, Any]:
    """What the policies saw: the cleaned window's size, step, newest value and mean, and
    the forecast's model."""
    return {
        "samples": s.count,
        "gaps": s.gaps,
        "last": _num(s.last),
        "mean": _num(s.mean),
        "end": iso(s.end),
        "step_s": s.step.total_seconds(),
        "forecast_model": s.forecast_model,
    }


def forecast_summary(f: Forecast | None) -> dict[str, Any] | None:
    """Model, horizon, and the first-step and peak values of the mean and each quantile."""
    if f is None:
        return None
    quantiles = {
        str(q): {
            "next": _num(v[0]) if len(v) else None,
            "peak": _num(np.max(v)) if len(v) else None,
        }
        for q, v in sorted(f.quantiles.items())
    }
    return {
        "model": f.model,
        "note": f.note,
        "horizon": len(f),
        "mean_next": _num(f.mean[0]) if len(f) else None,
        "mean_peak": _num(np.max(f.mean)) if len(f) else None,
        "quantiles": quantiles,
    }


def placement_records(placements: Sequence[Placement]) -> list[dict[str, str | None]]:
    """Where each new instance was asked to go, in order (host and zone, None: the cloud's
    choice)."""
    return [{"host": p.host, "zone": p.zone} for p in placements]


def action_record(a: ScaleAction | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "id": a.action_id,
        "created_at": iso(a.created_at),
        "current": a.current,
        "target": a.target,
        "direction": a.direction.value,
        "reason": a.reason,
        "victims": list(a.victims),
        "placements": placement_records(a.placements),
    }


def outcome_record(o: TickOutcome) -> dict[str, Any]:
    """Everything the audit log keeps about one decision; ``inputs`` is what the
    policies saw (``TickOutcome.seen``), not the raw window."""
    status = o.status
    return {
        "group": o.group,
        "at": iso(o.now),
        "status": None
        if status is None
        else {
            "ready": status.ready,
            "booting": status.booting,
            "in_flight": status.in_flight,
            "failed": status.failed,
        },
        "inputs": seen_summary(o.seen) if o.seen is not None else None,
        "forecast": forecast_summary(o.forecast),
        "votes": [{"policy": v.policy, "desired": v.desired, "reason": v.reason} for v in o.votes],
        "combined": o.combined,
        "guard": o.guard,
        "desired": o.desired,
        "reason": decision_reason(o),
        "action": action_record(o.action),
        "outcome": _outcome_word(o),
        "error": o.error,
        "stage": o.stage,
    }


def _outcome_word(o: TickOutcome) -> str:
    if o.action is not None:
        return "failed" if o.stage == "act" else "done"
    if o.status is None:
        return "error"
    guards = (o.guard or "").split(",")
    if "paused" in guards:
        return "paused"
    return "dry_run" if "dry_run" in guards else "hold"


# The journal's columns, in the order both state stores select them.
JOURNAL_COLUMNS = "action_id, grp, created_at, current, target, reason, victims, placements"


def journalled_action(row: Sequence[Any]) -> ScaleAction:
    """A ``ScaleAction`` from one journal row (``JOURNAL_COLUMNS``, JSON lists as text)."""
    aid, grp, created, current, target, reason, victims, placements = row
    return ScaleAction(
        group=grp,
        action_id=aid,
        created_at=ensure_utc(datetime.fromisoformat(created)),
        current=current,
        target=target,
        reason=reason,
        victims=tuple(json.loads(victims)),
        placements=tuple(Placement(p.get("host"), p.get("zone")) for p in json.loads(placements)),
    )


def audit_record(outcome: object, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit record of a ``TickOutcome`` or of an already built dict; ``extra``
    fields added."""
    if isinstance(outcome, TickOutcome):
        rec = outcome_record(outcome)
    elif isinstance(outcome, dict):
        rec = outcome
    else:
        raise TypeError(f"cannot audit {type(outcome).__name__}")
    return {**rec, **extra} if extra else rec
