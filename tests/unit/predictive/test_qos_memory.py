"""qos's memory: a JSON-ready dict that also carries the state for the next decision in
the same process, and is parsed again after a round trip or once it is changed."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from datetime import timedelta

import pytest

from autoscaler.policies.qos import QosMemory, QosPolicy, QosState

from .helpers import NOW, STEP, ctx, forecast


def _two_decisions(memory_of) -> tuple[object, object]:
    """A decision, then the next one fed ``memory_of(first memory)``."""
    policy = QosPolicy(target_violation_pct=1.0)
    first = policy.decide(ctx([150.0] * 30 + [400.0], ready=2, fc=forecast([300.0] * 15)))
    c = ctx(
        [150.0] * 29 + [400.0, 420.0],
        ready=3,
        fc=forecast([320.0] * 15, start=NOW + STEP),
        memory=memory_of(first.memory),
        now=NOW + STEP,
    )
    return first, policy.decide(c)


def test_the_memory_is_the_states_json_and_survives_a_round_trip() -> None:
    first, _ = _two_decisions(lambda m: m)
    assert isinstance(first.memory, QosMemory)
    state = QosState.from_json(first.memory)
    assert first.memory == state.to_json()
    assert first.memory.state == state
    assert json.loads(json.dumps(first.memory)) == state.to_json()


def test_the_next_decision_is_the_same_from_the_carried_state_or_the_parsed_json() -> None:
    _, carried = _two_decisions(lambda m: m)
    _, parsed = _two_decisions(lambda m: json.loads(json.dumps(m)))
    assert (carried.desired, carried.reason) == (parsed.desired, parsed.reason)
    assert carried.memory == parsed.memory


def test_a_changed_memory_is_parsed_not_taken_as_carried() -> None:
    policy = QosPolicy()
    first, _ = _two_decisions(lambda m: m)
    m = first.memory
    m["band"] = 7.5
    assert m.state is None
    assert policy.restore(m).band == 7.5
    m2 = _two_decisions(lambda m: m)[0].memory
    m2.update(band=3.0)
    assert policy.restore(m2).band == 3.0


def test_copies_are_plain_dicts() -> None:
    first, _ = _two_decisions(lambda m: m)
    for c in (copy.copy(first.memory), pickle.loads(pickle.dumps(first.memory))):
        assert type(c) is dict and c == first.memory


def test_evolve_is_dataclasses_replace_for_every_field() -> None:
    first, _ = _two_decisions(lambda m: m)
    state = first.memory.state
    other = QosState(
        band=2.5,
        setpoint=0.02,
        seen_until=NOW + STEP,
        last_ready=7,
        period_start=NOW - timedelta(minutes=3),
        period_violations=4,
        period_samples=9,
        long_violations=1.5,
        long_samples=30.0,
        recent=((NOW - STEP, 6),),
        violations=11,
        samples=99,
        latency_until=NOW,
        measured=3,
        panic_until=NOW + 11 * STEP,
    )
    fields = [f.name for f in dataclasses.fields(QosState)]
    # every field differs in ``other``: a field added to QosState but not to evolve's
    # positional call (it would keep its default) fails here until ``other`` sets it
    assert [n for n in fields if getattr(other, n) == getattr(state, n)] == []
    for name in fields:  # one field at a time: that one changes, the others stay
        value = getattr(other, name)
        assert state.evolve(**{name: value}) == dataclasses.replace(state, **{name: value})
    assert state.evolve(**{n: getattr(other, n) for n in fields}) == other
    assert state.evolve() == state
    with pytest.raises(TypeError, match="no_such_field"):
        state.evolve(no_such_field=1)


def test_values_are_the_fields_in_order() -> None:
    first, _ = _two_decisions(lambda m: m)
    state = first.memory.state
    assert state.values() == [getattr(state, f.name) for f in dataclasses.fields(QosState)]
    assert QosState(*state.values()) == state
