"""qos's memory: a JSON-ready dict that also carries the state for the next decision in
the same process, and is parsed again after a round trip or once it is changed."""

from __future__ import annotations

import copy
import json
import pickle

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
