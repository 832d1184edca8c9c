"""JSON views of the engine's values, shared by the audit log, the logs and the HTTP API.

Each function returns plain dicts/lists/numbers/strings (``json.dumps``-able) and
never raises on odd values: NaN and infinities become ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from autoscaler.decisions import decision_reason
from autoscaler.model import Forecast, MetricWindow, Placement, ScaleAction, TickOutcome


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


def outcome_record(o: TickOutcome, inputs: MetricWindow | None = None) -> dict[str, Any]:
    """Everything the audit log keeps about one decision."""
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
        "inputs": window_summary(inputs) if inputs is not None else None,
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
    return "dry_run" if o.guard and "dry_run" in o.guard else "hold"
