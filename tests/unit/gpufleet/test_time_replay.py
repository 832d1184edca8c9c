"""Time mode: queue orders, preemption (requeued, never lost, cost charged), migration
(never overcommits), quotas, and the event queue's deterministic order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaler.simulator.event_queue import EventQueue
from autoscaler.simulator.gpu.allocation import ALLOCATIONS
from autoscaler.simulator.gpu.fleet import Fleet, Partition
from autoscaler.simulator.gpu.pods import PodTable
from autoscaler.simulator.gpu.synergy_profiles import ProfileBook, load_profiles
from autoscaler.simulator.gpu.time_replay import SCHEDULERS, TimeConfig, run_time
from tests.unit.gpufleet.conftest import DATA


@pytest.fixture(scope="module")
def book() -> ProfileBook:
    return load_profiles(DATA.parent / "synergy-profiles" / "profiles.json")


def fleet(gpus: list[int], models: list[str] | None = None, partitions=()) -> Fleet:
    n = len(gpus)
    models = models or ["A"] * n
    return Fleet(
        names=tuple(f"n{i}" for i in range(n)),
        cpu_milli=np.full(n, 32_000, dtype=np.int64),
        memory_mib=np.full(n, 128_000, dtype=np.int64),
        gpus=np.array(gpus, dtype=np.int64),
        gpu_model=tuple(models),
        partitions=tuple(partitions),
    )


def pods(rows: list[tuple]) -> PodTable:
    """rows: (arrival, duration, num_gpu, gpu_milli, qos[, gpu_spec])."""
    n = len(rows)
    return PodTable(
        names=tuple(f"p{i}" for i in range(n)),
        cpu_milli=np.full(n, 1000, dtype=np.int64),
        memory_mib=np.full(n, 1000, dtype=np.int64),
        num_gpu=np.array([r[2] for r in rows], dtype=np.int64),
        gpu_milli=np.array([r[3] for r in rows], dtype=np.int64),
        gpu_spec=tuple(r[5] if len(r) > 5 else () for r in rows),
        qos=tuple(r[4] for r in rows),
        creation=np.array([r[0] for r in rows], dtype=float),
        duration=np.array([r[1] for r in rows], dtype=float),
    )


def test_event_queue_orders_by_time_priority_then_insertion() -> None:
    q: EventQueue[str] = EventQueue()
    q.push(5.0, "late")
    q.push(1.0, "arrive-1", priority=1)
    q.push(1.0, "finish", priority=0)
    q.push(1.0, "arrive-2", priority=1)
    assert q.peek_time() == 1.0
    assert [q.pop()[1] for _ in range(4)] == ["finish", "arrive-1", "arrive-2", "late"]
    assert len(q) == 0 and q.peek_time() is None
    with pytest.raises(IndexError):
        q.pop()


def test_fifo_versus_shortest_job_first() -> None:
    one_gpu = fleet([1])
    work = pods([(0, 100, 1, 1000, "LS"), (0, 10, 1, 1000, "LS")])
    fifo = run_time(one_gpu, work, TimeConfig(scheduler="fifo"))
    sjf = run_time(one_gpu, work, TimeConfig(scheduler="sjf"))
    assert sorted(fifo.jct) == [100, 110]
    assert sorted(sjf.jct) == [10, 110]
    assert sjf.jct_stat("mean") < fifo.jct_stat("mean")
    assert fifo.mean_gpu_util_pct == pytest.approx(100.0)


def test_ls_preempts_be_which_is_requeued_not_lost() -> None:
    one_gpu = fleet([1])
    work = pods([(0, 100, 1, 1000, "BE"), (10, 20, 1, 1000, "LS")])
    run = run_time(one_gpu, work, TimeConfig(scheduler="priority", preemption_cost_s=30))
    assert run.preemptions == 1
    assert run.finished == 2 and run.unfinished == 0
    # LS runs 10..30; BE ran 10 s, resumes at 30, restores for 30 s, runs its 90 s
    # left and ends at 150.
    assert sorted(run.jct.tolist()) == [20.0, 150.0]
    assert sorted(run.queueing_delay.tolist()) == [0.0, 0.0]
    assert run.pause_seconds == 30.0
    no_preempt = run_time(one_gpu, work, TimeConfig(scheduler="priority", preemption=False))
    assert no_preempt.preemptions == 0
    assert sorted(no_preempt.jct.tolist()) == [100.0, 110.0]


def test_be_never_preempts_and_ls_never_evicted() -> None:
    one_gpu = fleet([1])
    work = pods([(0, 50, 1, 1000, "LS"), (1, 5, 1, 1000, "BE"), (2, 5, 1, 1000, "LS")])
    run = run_time(one_gpu, work, TimeConfig(scheduler="priority"))
    assert run.preemptions == 0
    assert run.finished == 3


def test_migration_defragments_and_charges_its_cost() -> None:
    # node 0: two model-A GPUs; node 1: one model-B GPU. Two 600-milli pods split node 0
    # (400 free on each GPU); a 700-milli pod that needs model A fits nowhere until one
    # of them moves to node 1.
    two_nodes = fleet([2, 1], ["A", "B"])
    work = pods(
        [
            (0, 100, 1, 600, "LS"),
            (1, 100, 1, 600, "LS"),
            (2, 10, 1, 700, "LS", ("A",)),
        ]
    )
    moved = run_time(
        two_nodes, work, TimeConfig(placement="first_fit", migration=True, migration_cost_s=60)
    )
    assert moved.migrations == 1
    assert moved.finished == 3
    # The 700 pod starts at once (JCT 10); the mover ran 2 s, pauses 60 s, ends at 160.
    assert sorted(moved.jct.tolist()) == [10.0, 100.0, 160.0]
    still = run_time(two_nodes, work, TimeConfig(placement="first_fit", migration=False))
    assert still.migrations == 0
    # Without migration the 700 pod waits for the first pod to finish at 100.
    assert sorted(still.jct.tolist()) == [100.0, 100.0, 108.0]


def test_quota_holds_pods_back() -> None:
    tenants = (Partition("a", 1), Partition("b", 1))
    work = pods([(0, 10, 1, 1000, "LS")] * 4)  # dealt a, b, a, b
    run = run_time(fleet([8], partitions=tenants), work, TimeConfig())
    assert sorted(run.jct.tolist()) == [10.0, 10.0, 20.0, 20.0]


rows = st.lists(
    st.tuples(
        st.integers(0, 50),
        st.integers(1, 40),
        st.sampled_from([1, 1, 1, 2]),
        st.sampled_from([200, 500, 700, 1000]),
        st.sampled_from(["LS", "BE", "Burstable"]),
    ).map(lambda r: (r[0], r[1], r[2], 1000 if r[2] > 1 else r[3], r[4])),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    work=rows,
    scheduler=st.sampled_from(SCHEDULERS),
    preemption=st.booleans(),
    migration=st.booleans(),
    allocation=st.sampled_from(ALLOCATIONS),
    borrowing=st.booleans(),
)
def test_every_pod_finishes_and_nothing_is_overcommitted(
    work, scheduler, preemption, migration, allocation, borrowing, book
) -> None:
    # Every pod fits an empty node, so every pod must finish; ClusterState.bind raises on
    # any overcommit and the run checks the final state.
    tenants = (Partition("a", 3), Partition("b", 2))
    run = run_time(
        fleet([2, 2, 1], ["A", "A", "A"], partitions=tenants),
        pods(work),
        TimeConfig(
            scheduler=scheduler,
            preemption=preemption,
            migration=migration,
            allocation=allocation,
            borrowing=borrowing,
            migration_cost_s=5,
            preemption_cost_s=3,
        ),
        book,
    )
    assert run.finished == len(work) and run.unfinished == 0
    assert (run.jct > 0).all() and (run.queueing_delay >= 0).all()
    assert run.util_pct.max() <= 100.0 + 1e-9
    held = run.partition_held
    assert (held.sum(axis=1) <= 5 + 1e-9).all()  # borrowing only from idle quota
    if not borrowing:
        assert (held <= np.array([3, 2]) + 1e-9).all()
    assert held[-1].sum() == 0  # everything handed back at the end


def test_time_mode_needs_times_and_known_scheduler() -> None:
    work = pods([(0, 1, 1, 500, "LS")])
    untimed = dataclasses.replace(work, creation=np.array([np.nan]), duration=np.array([np.nan]))
    with pytest.raises(ValueError, match="creation_time"):
        run_time(fleet([1]), untimed, TimeConfig())
    with pytest.raises(ValueError, match="unknown scheduler"):
        run_time(fleet([1]), work, TimeConfig(scheduler="lottery"))
    with pytest.raises(ValueError, match="unknown allocation"):
        run_time(fleet([1]), work, TimeConfig(allocation="greedy"))
    with pytest.raises(ValueError, match="costs must be"):
        run_time(fleet([1]), work, TimeConfig(preemption_cost_s=-1))


def test_quota_ledger_refuses_past_quota_and_over_refunds() -> None:
    from autoscaler.simulator.gpu.partitions import QuotaLedger

    ledger = QuotaLedger((Partition("a", 1.5),))
    assert ledger.admits(None, 10**9)  # pods outside partitions are not limited
    ledger.charge("a", 1000)
    assert ledger.admits("a", 500) and not ledger.admits("a", 501)
    with pytest.raises(ValueError, match="quota exceeded"):
        ledger.charge("a", 1000)
    assert ledger.held["a"] == 1000  # a refused charge changes nothing
    with pytest.raises(ValueError, match="refund"):
        ledger.refund("a", 2000)
    ledger.refund("a", 1000)
    assert ledger.held["a"] == 0


def test_quota_ledger_keeps_its_total_and_counts_changes() -> None:
    from autoscaler.simulator.gpu.partitions import QuotaLedger

    ledger = QuotaLedger((Partition("a", 2), Partition("b", 1)), borrowing=True)
    ledger.charge("a", 1500)
    ledger.charge("b", 1000)
    ledger.charge("b", 500)  # borrowed from a's idle quota
    assert ledger.total_held == sum(ledger.held.values()) == 3000
    assert ledger.version == 3
    assert not ledger.admits("b", 1)  # the quotas' sum is reached
    assert ledger.reclaim_needed("a", 500) == 500
    with pytest.raises(ValueError):
        ledger.charge("a", 1000)
    assert ledger.version == 3  # a refused charge is no change
    ledger.refund("b", 500)
    assert ledger.total_held == 2500 and ledger.version == 4
