"""Placement policies never overcommit, honour GPU types, and are deterministic by seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaler.simulator.gpu.fleet import Fleet
from autoscaler.simulator.gpu.fragmentation import model_mask, typical_pods
from autoscaler.simulator.gpu.placement import (
    POLICY_NAMES,
    PodRequest,
    feasible,
    make_policy,
)
from autoscaler.simulator.gpu.pods import PodTable
from autoscaler.simulator.gpu.state import ClusterState, OvercommitError, Placement

MODELS = ("A", "B")


def small_fleet(gpus: list[int], models: list[str], cpu: int = 16_000, mem: int = 64_000) -> Fleet:
    n = len(gpus)
    return Fleet(
        names=tuple(f"n{i}" for i in range(n)),
        cpu_milli=np.full(n, cpu, dtype=np.int64),
        memory_mib=np.full(n, mem, dtype=np.int64),
        gpus=np.array(gpus, dtype=np.int64),
        gpu_model=tuple(m if g else "" for g, m in zip(gpus, models, strict=True)),
    )


def pod_table(rows: list[tuple[int, int, int, int, tuple[str, ...]]]) -> PodTable:
    n = len(rows)
    return PodTable(
        names=tuple(f"p{i}" for i in range(n)),
        cpu_milli=np.array([r[0] for r in rows], dtype=np.int64),
        memory_mib=np.array([r[1] for r in rows], dtype=np.int64),
        num_gpu=np.array([r[2] for r in rows], dtype=np.int64),
        gpu_milli=np.array([r[3] for r in rows], dtype=np.int64),
        gpu_spec=tuple(r[4] for r in rows),
        qos=("LS",) * n,
        creation=np.zeros(n),
        duration=np.ones(n),
    )


pod_rows = st.lists(
    st.tuples(
        st.integers(0, 12_000),
        st.integers(0, 40_000),
        st.sampled_from([0, 1, 1, 1, 2, 4, 8]),
        st.sampled_from([100, 250, 500, 700, 1000]),
        st.sampled_from([(), (), ("A",), ("B",), ("A", "B")]),
    ).map(lambda r: (r[0], r[1], r[2], 0 if r[2] == 0 else (r[3] if r[2] == 1 else 1000), r[4])),
    min_size=1,
    max_size=60,
)
fleets = st.lists(
    st.tuples(st.sampled_from([0, 1, 2, 4, 8]), st.sampled_from(MODELS)), min_size=1, max_size=6
).map(lambda nodes: small_fleet([g for g, _ in nodes], [m for _, m in nodes]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets, rows=pod_rows, policy=st.sampled_from(POLICY_NAMES), seed=st.integers(0, 3))
def test_policies_never_overcommit_and_honour_gpu_types(fleet, rows, policy, seed) -> None:
    pods = pod_table(rows)
    placer = make_policy(policy, typical_pods(pods, fleet.models))
    state = ClusterState(fleet)
    rng = np.random.default_rng(seed)
    for cpu, mem, num, milli, spec in rows:
        req = PodRequest(cpu, mem, num, milli, model_mask(spec, fleet.models))
        could_fit = bool(feasible(req, state).any())
        where = placer.place(req, state, rng)
        assert (where is not None) == could_fit  # placed whenever any node fits
        if where is None:
            continue
        assert len(where.gpus) == num
        if num:
            model = fleet.gpu_model[where.node]
            assert not spec or model in spec
            assert all(g < fleet.gpus[where.node] for g in where.gpus)
        state.bind(where, cpu, mem, milli)  # raises OvercommitError on any overcommit
        state.check_invariants()


def test_bind_refuses_overcommit_and_changes_nothing() -> None:
    state = ClusterState(small_fleet([2], ["A"], cpu=4000, mem=100))
    state.bind(Placement(0, (0,)), 1000, 10, 600)
    before = (state.cpu_left.copy(), state.mem_left.copy(), state.gpu_left.copy())
    for bad in [
        (Placement(0, (0,)), 100, 1, 500),  # GPU 0 has only 400 left
        (Placement(0, (1,)), 5000, 1, 100),  # CPU
        (Placement(0, (1,)), 100, 200, 100),  # memory
        (Placement(0, (1, 1)), 100, 1, 100),  # the same GPU twice
        (Placement(0, (2,)), 100, 1, 100),  # a GPU the node lacks
    ]:
        with pytest.raises(OvercommitError):
            state.bind(*bad)
        assert (state.cpu_left == before[0]).all() and (state.mem_left == before[1]).all()
        assert (state.gpu_left == before[2]).all()
    with pytest.raises(OvercommitError):
        state.release(Placement(0, (1,)), 0, 0, 100)


def test_gpu_share_and_whole_gpu_choices() -> None:
    fleet = small_fleet([4, 4], ["A", "A"])
    state = ClusterState(fleet)
    state.bind(Placement(1, (2,)), 0, 0, 700)  # node 1 GPU 2 has 300 free
    best = make_policy("best_fit")
    rng = np.random.default_rng(0)
    share = PodRequest(1000, 10, 1, 300, np.ones(1, dtype=bool))
    assert best.place(share, state, rng) == Placement(1, (2,))  # the tightest GPU
    whole = PodRequest(1000, 10, 2, 1000, np.ones(1, dtype=bool))
    assert best.place(whole, state, rng) == Placement(1, (0, 1))  # fuller node, first idle GPUs
    first = make_policy("first_fit")
    assert first.place(whole, state, rng) == Placement(0, (0, 1))


def test_gpu_type_constraint_leaves_pod_unplaced_when_no_model_matches() -> None:
    fleet = small_fleet([8, 8], ["A", "A"])
    state = ClusterState(fleet)
    only_b = PodRequest(100, 1, 1, 500, model_mask(("B",), fleet.models))
    for name in POLICY_NAMES:
        placer = make_policy(name, typical_pods(pod_table([(100, 1, 1, 500, ())]), fleet.models))
        assert placer.place(only_b, state, np.random.default_rng(0)) is None


def test_unknown_policy() -> None:
    with pytest.raises(ValueError, match="unknown placement policy 'worst'"):
        make_policy("worst")
    with pytest.raises(ValueError, match="typical"):
        make_policy("fgd")


def _placements(policy: str, seed: int, fleet: Fleet, rows) -> list[Placement | None]:
    pods = pod_table(rows)
    placer = make_policy(policy, typical_pods(pods, fleet.models))
    state, rng, out = ClusterState(fleet), np.random.default_rng(seed), []
    for cpu, mem, num, milli, spec in rows:
        where = placer.place(
            PodRequest(cpu, mem, num, milli, model_mask(spec, fleet.models)), state, rng
        )
        if where is not None:
            state.bind(where, cpu, mem, milli)
        out.append(where)
    return out


def test_determinism_by_seed() -> None:
    fleet = small_fleet([8] * 20, ["A"] * 10 + ["B"] * 10, cpu=64_000, mem=256_000)
    rng = np.random.default_rng(7)
    rows = [
        (int(rng.integers(1000, 8000)), 1000, 1, int(rng.choice([250, 500, 1000])), ())
        for _ in range(120)
    ]
    for policy in POLICY_NAMES:
        assert _placements(policy, 3, fleet, rows) == _placements(policy, 3, fleet, rows)
    assert _placements("random", 3, fleet, rows) != _placements("random", 4, fleet, rows)


def test_fgd_memo_changes_no_decision(openb_fleet, openb_pods) -> None:
    from autoscaler.simulator.gpu.frag_replay import requests_for, submission_order
    from autoscaler.simulator.gpu.placement import FgdPolicy

    tp = typical_pods(openb_pods, openb_fleet.models)
    reqs = requests_for(openb_pods, openb_fleet.models)
    order = submission_order(openb_pods, 6_212_000, 130, np.random.default_rng(0))[:300]
    decisions = []
    for memo in (True, False):
        placer, state, out = FgdPolicy(tp, memo=memo), ClusterState(openb_fleet), []
        rng = np.random.default_rng(0)
        for i in order:
            where = placer.place(reqs[i], state, rng)
            if where is not None:
                state.bind(where, reqs[i].cpu, reqs[i].mem, reqs[i].gpu_milli)
            out.append(where)
        decisions.append(out)
    assert decisions[0] == decisions[1]
