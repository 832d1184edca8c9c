"""What ``SharedStateStore`` reads back (audit, journal, cooldowns), and pauses and plans.

A mixin of ``SharedStateStore`` (``autoscaler.daemon.shared_state``): none of these
writes acts for a group, so none is fenced; each is one statement on an autocommit
connection (one round trip). As in the SQLite store, a pause and the latest rebalance
plan live in the database so that they follow a group to whichever member owns it next.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from autoscaler.daemon.records import iso
from autoscaler.daemon.redact import Redactor


class SharedReads:
    redactor: Redactor

    def _rows(self, sql: str, **args: Any) -> list[Any]:
        raise NotImplementedError

    def decisions(self, group: str, last: int = 10) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT record FROM audit WHERE grp = :g ORDER BY id DESC LIMIT :n", g=group, n=last
        )
        return [json.loads(r[0]) for r in reversed(rows)]

    def latest_decisions(self, groups: Collection[str]) -> dict[str, dict[str, Any]]:
        """Each group's newest audit record (groups without one are left out), in one
        query: what a start-up shows as every group's last decision."""
        rows = self._rows(
            "SELECT g, (SELECT record FROM audit WHERE grp = g ORDER BY id DESC LIMIT 1)"
            " FROM unnest(CAST(:gs AS text[])) AS t(g)",
            gs=sorted(groups),
        )
        return {g: json.loads(r) for g, r in rows if r is not None}

    def audited_actions(self, group: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT record FROM audit WHERE action_id IS NOT NULL"
        if group is not None:
            sql += " AND grp = :g"
        return [json.loads(r[0]) for r in self._rows(sql + " ORDER BY id", g=group)]

    def journal(self) -> list[tuple[str, str | None]]:
        return [
            (a, o)
            for a, o in self._rows("SELECT action_id, outcome FROM actions ORDER BY created_at")
        ]

    def cooldowns(self, group: str) -> dict[str, str]:
        return dict(self._rows("SELECT direction, at FROM cooldowns WHERE grp = :g", g=group))

    # ---------------------------------------------------------------- pauses and plans

    def set_paused(self, group: str, at: datetime, reason: str) -> None:
        self._rows(
            "INSERT INTO paused (grp, at, reason) VALUES (:g, :a, :r) ON CONFLICT (grp) "
            "DO UPDATE SET at = EXCLUDED.at, reason = EXCLUDED.reason RETURNING grp",
            g=group,
            a=iso(at),
            r=self.redactor.text(reason),
        )

    def clear_paused(self, group: str) -> None:
        self._rows("DELETE FROM paused WHERE grp = :g RETURNING grp", g=group)

    def paused(self) -> dict[str, dict[str, str]]:
        """Each paused group's ``{"at": ISO time, "reason": text}``."""
        rows = self._rows("SELECT grp, at, reason FROM paused")
        return {g: {"at": at, "reason": reason} for g, at, reason in rows}

    def record_plan(self, group: str, plan: dict[str, Any]) -> None:
        """Keep ``plan`` as the group's latest rebalance plan (replacing the previous)."""
        rec = self.redactor.value(plan)
        self._rows(
            "INSERT INTO plans (grp, at, record) VALUES (:g, :a, :r) ON CONFLICT (grp) "
            "DO UPDATE SET at = EXCLUDED.at, record = EXCLUDED.record RETURNING grp",
            g=group,
            a=rec["at"],
            r=json.dumps(rec),
        )

    def last_plan(self, group: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT record FROM plans WHERE grp = :g", g=group)
        return json.loads(rows[0][0]) if rows else None
