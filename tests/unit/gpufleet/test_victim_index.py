"""The running-job index that finds victims (``running_index.py``, ``find_victims``) and
the memo of failed attempts (``attempt.py``, ``migration.MigrationMemo``) make the same
choices as the plain search (scan every running job, search every node on every
attempt), and the index stays in step with the running set."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaler.simulator.gpu.allocation import ALLOCATIONS
from autoscaler.simulator.gpu.fleet import Partition
from autoscaler.simulator.gpu.time_replay import Replay, TimeConfig
from tests.unit.gpufleet.test_time_replay import book, fleet, pods, rows  # noqa: F401

TENANTS = (Partition("a", 3), Partition("b", 2))


def _run(work, cfg: TimeConfig, profiles, plain: bool, gpus=(2, 2, 1), tenants=TENANTS):
    replay = Replay(fleet(list(gpus), partitions=tenants), pods(work), cfg, profiles)
    replay.plain_search = plain
    run = replay.run()
    assert len(replay.index) == 0 and not replay.running
    return run


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    work=rows,
    scheduler=st.sampled_from(["tiresias", "gittins", "priority", "sjf", "fifo"]),
    preemption=st.booleans(),
    migration=st.booleans(),
    allocation=st.sampled_from(ALLOCATIONS),
    borrowing=st.booleans(),
)
def test_index_and_memo_choose_what_the_plain_search_chooses(
    work,
    scheduler,
    preemption,
    migration,
    allocation,
    borrowing,
    book,  # noqa: F811
) -> None:
    cfg = TimeConfig(
        scheduler=scheduler,
        preemption=preemption,
        migration=migration,
        allocation=allocation,
        borrowing=borrowing,
        preemption_cost_s=3,
        migration_cost_s=5,
    )
    fast = _run(work, cfg, book, plain=False)
    ref = _run(work, cfg, book, plain=True)
    assert fast.job_idx.tolist() == ref.job_idx.tolist()
    assert np.array_equal(fast.jct, ref.jct)
    assert (fast.preemptions, fast.quota_returns, fast.migrations) == (
        ref.preemptions,
        ref.quota_returns,
        ref.migrations,
    )


def test_preemption_happens_in_the_compared_runs() -> None:
    # A long job in the second LAS queue is evicted for a newcomer: the compared path
    # is exercised (not only runs where nobody is ever evicted).
    work = [(0, 1000, 1, 1000, "LS"), (0, 1000, 1, 1000, "LS"), (700, 10, 2, 1000, "LS")]
    cfg = TimeConfig(scheduler="tiresias", preemption=True)
    fast = _run(work, cfg, None, plain=False, gpus=(1, 2), tenants=())
    ref = _run(work, cfg, None, plain=True, gpus=(1, 2), tenants=())
    assert fast.preemptions == ref.preemptions >= 1
    assert fast.jct.tolist() == ref.jct.tolist()


def test_preemption_inside_a_partition_is_chosen_alike() -> None:
    # a (quota 1) at its quota: its short job evicts a's long job once it falls to the
    # second LAS queue; the memo must retry it then (a's job changed priority there).
    work = [(0, 2000, 1, 1000, "LS"), (0, 2000, 1, 1000, "LS"), (300, 100, 1, 1000, "LS")]
    tenants = (Partition("a", 1), Partition("b", 1))
    for borrowing in (False, True):
        cfg = TimeConfig(scheduler="tiresias", preemption=True, borrowing=borrowing)
        fast = _run(work, cfg, None, plain=False, gpus=(1, 2), tenants=tenants)
        ref = _run(work, cfg, None, plain=True, gpus=(1, 2), tenants=tenants)
        assert fast.preemptions == ref.preemptions == 1
        assert fast.jct.tolist() == ref.jct.tolist()
