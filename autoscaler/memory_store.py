"""An in-memory ``StateStore`` for the simulator and for tests.

Keeps cooldown timestamps, policy memory and the action journal in dicts; keeps the
audit log only when asked to (a long simulation would otherwise hold every outcome).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from autoscaler.model import ScaleAction, TickOutcome


@dataclass
class MemoryStateStore:
    keep_audit: bool = False
    audit: list[TickOutcome] = field(default_factory=list)
    journal: dict[str, tuple[ScaleAction, str | None]] = field(default_factory=dict)
    actions_done: int = 0
    on_record: Callable[[TickOutcome], None] | None = None
    _last: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _memory: dict[tuple[str, str], object] = field(default_factory=dict)

    def last_action(self, group: str, direction: str) -> datetime | None:
        return self._last.get((group, direction))

    def policy_memory(self, group: str, policy: str) -> object:
        return self._memory.get((group, policy))

    def set_policy_memory(self, group: str, policy: str, memory: object) -> None:
        self._memory[(group, policy)] = memory

    def begin_action(self, action: ScaleAction) -> None:
        self.journal[action.action_id] = (action, None)

    def finish_action(self, action: ScaleAction, outcome: str) -> None:
        self.journal[action.action_id] = (action, outcome)
        if outcome == "done":
            self.actions_done += 1
            self._last[(action.group, action.direction.value)] = action.created_at

    def unfinished_actions(self) -> Sequence[ScaleAction]:
        return [a for a, outcome in self.journal.values() if outcome is None]

    def record(self, outcome: TickOutcome) -> None:
        if self.keep_audit:
            self.audit.append(outcome)
