"""The handoff grace: a taken-over group with an interrupted action holds for the grace,
then is settled once, and a failed settlement keeps it held."""

from __future__ import annotations

import pytest

from autoscaler.daemon.handoff import HandoffHolds


def holds(grace: float = 2.0) -> tuple[HandoffHolds, list[float]]:
    clock = [100.0]
    return HandoffHolds(grace, lambda: clock[0]), clock


def test_a_group_not_held_decides_without_settling() -> None:
    h, _ = holds()
    settled: list[list[str]] = []
    assert h.waiting("g", settled.append) is None
    assert settled == []


def test_a_held_group_waits_the_grace_then_is_settled_once() -> None:
    h, clock = holds(2.0)
    settled: list[list[str]] = []
    h.hold({"g"})
    assert h.waiting("g", settled.append) == pytest.approx(2.0)
    clock[0] += 1.5
    assert h.waiting("g", settled.append) == pytest.approx(0.5)
    assert settled == []
    clock[0] += 0.5
    assert h.waiting("g", settled.append) is None
    assert settled == [["g"]]
    assert h.waiting("g", settled.append) is None  # released: not settled again
    assert settled == [["g"]]


def test_other_groups_are_not_held() -> None:
    h, _ = holds()
    h.hold({"g"})
    assert h.waiting("other", lambda _g: None) is None
    assert h.waiting("g", lambda _g: None) is not None


def test_a_failed_settlement_keeps_the_group_held() -> None:
    h, clock = holds(1.0)
    h.hold({"g"})
    clock[0] += 1.0

    def fail(_groups: list[str]) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        h.waiting("g", fail)
    settled: list[list[str]] = []
    assert h.waiting("g", settled.append) is None
    assert settled == [["g"]]


def test_taking_a_group_again_restarts_its_grace() -> None:
    h, clock = holds(2.0)
    h.hold({"g"})
    clock[0] += 1.5
    h.hold({"g"})
    assert h.waiting("g", lambda _g: None) == pytest.approx(2.0)
