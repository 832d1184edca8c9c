"""One scaling decision as a row: what the simulator writes and the daemon's audit keeps.

Both describe a tick with ``decision_row`` so that a run of ``simulate`` and a run of
the daemon on the same config and trace can be compared row by row (the parity test).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autoscaler.model import TickOutcome


@dataclass(frozen=True)
class DecisionRow:
    at: datetime
    group: str
    desired: int | None
    reason: str


def decision_reason(o: TickOutcome) -> str:
    """Why the tick ended where it did: the error, else each policy's vote with its
    reason, then the guard that changed the combined vote (if one did)."""
    if o.error is not None:
        return f"error at {o.stage}: {o.error}"
    votes = "; ".join(f"{v.policy}={v.desired}: {v.reason}" for v in o.votes)
    return f"{votes} | guard: {o.guard}" if o.guard else votes


def decision_row(o: TickOutcome) -> DecisionRow:
    return DecisionRow(o.now, o.group, o.desired, decision_reason(o))


def write_decisions(path: Path, rows: Iterable[tuple[str, DecisionRow]]) -> None:
    """``(policy, row)`` pairs as CSV: policy, time (ISO 8601, UTC), group, desired, reason."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["policy", "time", "group", "desired", "reason"])
        for policy, r in rows:
            at = r.at.isoformat().replace("+00:00", "Z")
            out.writerow([policy, at, r.group, "" if r.desired is None else r.desired, r.reason])
