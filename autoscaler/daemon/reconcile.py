"""Settling the action journal against the cloud before the first tick after a start.

An action whose intent is journalled but whose outcome is not was interrupted (crash,
``kill -9``, power loss). The cloud is the truth:

* the cloud already shows the target -> the action happened: mark it done;
* the cloud still shows the count the action started from -> it did not happen (or
  the cloud has not applied it yet): re-issue it with the same ``action_id``, which
  the cloud ignores if it has seen it, then mark it done;
* anything else -> something else changed the group: mark it superseded;
* the group is no longer configured -> mark it abandoned.

Each settled action is written to the audit log once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from autoscaler.daemon.records import action_record, iso
from autoscaler.interfaces import CloudAdapter, StateStore
from autoscaler.model import CloudError, GroupSpec, ScaleAction


@dataclass(frozen=True)
class Settled:
    action: ScaleAction
    how: str  # "already_applied", "reissued", "superseded", "abandoned", "failed"
    detail: str


def reconcile(
    store: StateStore,
    groups: Mapping[str, tuple[GroupSpec, CloudAdapter]],
    now: datetime,
    only: Collection[str] | None = None,
) -> list[Settled]:
    """Settle every unfinished action (only those of the groups in ``only`` when given:
    in a fleet the others belong to other members); returns what was done. Raises
    ``StateError``."""
    settled = []
    for action in store.unfinished_actions():
        if only is not None and action.group not in only:
            continue
        entry = groups.get(action.group)
        if entry is None:
            s = Settled(action, "abandoned", "group no longer configured")
        else:
            s = _settle(action, *entry)
        outcome = "done" if s.how in ("already_applied", "reissued") else s.how
        store.finish_action(action, outcome if outcome == "done" else f"{outcome}: {s.detail}")
        store.record(
            {
                "group": action.group,
                "at": iso(now),
                "event": "reconcile",
                "action": action_record(action),
                "outcome": outcome,
                "reconciled": s.how,
                "detail": s.detail,
                "votes": [],
            }
        )
        settled.append(s)
    return settled


def _settle(action: ScaleAction, spec: GroupSpec, cloud: CloudAdapter) -> Settled:
    try:
        total = cloud.status(spec).total
    except CloudError as exc:
        return Settled(action, "failed", f"cannot read the group: {exc}")
    if total == action.target:
        return Settled(action, "already_applied", f"cloud shows the target {total}")
    if total != action.current:
        return Settled(
            action, "superseded", f"cloud shows {total}, neither {action.current} nor target"
        )
    try:
        cloud.scale(action)
    except CloudError as exc:
        return Settled(action, "failed", f"re-issue failed: {exc}")
    return Settled(action, "reissued", f"re-issued {action.current} -> {action.target}")
