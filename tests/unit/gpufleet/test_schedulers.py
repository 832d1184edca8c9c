"""Tiresias (2D-LAS) and Gittins orders on hand-made traces: discretised queues,
preemption that charges its checkpoint/restore cost, promotion against starvation,
non-clairvoyance, the online-learned Gittins index, and partitions that borrow idle
quota and give it back."""

from __future__ import annotations

import numpy as np
import pytest

from autoscaler.simulator.gpu.fleet import Partition
from autoscaler.simulator.gpu.job_order import GittinsIndex, gittins_at
from autoscaler.simulator.gpu.time_replay import TimeConfig, run_time
from tests.unit.gpufleet.test_time_replay import fleet, pods


def test_tiresias_preempts_across_queues_only_and_charges_restore() -> None:
    # A (1000 s) runs from 0; B (100 s) arrives at 10 in the same queue (A has < 600
    # GPU-s), so it waits; at 600 A falls to the second queue and B preempts it.
    one_gpu = fleet([1])
    work = pods([(0, 1000, 1, 1000, "LS"), (10, 100, 1, 1000, "LS")])
    fifo = run_time(one_gpu, work, TimeConfig(scheduler="fifo"))
    assert fifo.jct.tolist() == [1000.0, 1090.0]
    las = run_time(one_gpu, work, TimeConfig(scheduler="tiresias"))
    assert las.jct.tolist() == fifo.jct.tolist()  # without preemption LAS is FIFO here
    pre = run_time(
        one_gpu, work, TimeConfig(scheduler="tiresias", preemption=True, preemption_cost_s=30)
    )
    # B runs 600..700; A resumes at 700, restores until 730, runs its last 400 s.
    assert sorted(pre.jct.tolist()) == [690.0, 1130.0]
    assert pre.preemptions == 1 and pre.pause_seconds == 30.0
    # A's promotion (due at 600 + 4 x 600) went stale when it resumed: the run ends at
    # the last finish, and the GPU was held all along (restore included).
    assert pre.util_times[-1] == 1130.0 and pre.makespan_s == 1130.0
    assert pre.mean_gpu_util_pct == pytest.approx(100.0)
    assert pre.jct_stat("mean") < fifo.jct_stat("mean")
    free = run_time(
        one_gpu, work, TimeConfig(scheduler="tiresias", preemption=True, preemption_cost_s=0)
    )
    assert sorted(free.jct.tolist()) == [690.0, 1100.0]


def _stream() -> list[tuple]:
    # One long job, then short ones (500 s, always in the top queue) back to back.
    return [(0, 2000, 1, 1000, "LS")] + [(100 + 500 * k, 500, 1, 1000, "LS") for k in range(20)]


def test_promotion_keeps_a_long_job_from_starving() -> None:
    one_gpu = fleet([1])
    work = pods(_stream())
    starve = run_time(
        one_gpu, work, TimeConfig(scheduler="tiresias", preemption=True, promote_knob=np.inf)
    )
    fair = run_time(one_gpu, work, TimeConfig(scheduler="tiresias", preemption=True))
    # Without promotion the long job (index 0) runs only after every short one.
    assert starve.job_idx[-1] == 0 and starve.preemptions == 1
    # Promoted after waiting 4x its last run, it finishes while short jobs still come.
    assert fair.job_idx[-1] != 0
    assert starve.jct_of(0) == 12030.0  # the last short job ends at 10600; +30 +1400
    assert fair.jct_of(0) < starve.jct_of(0) - 2000
    assert fair.preemptions > starve.preemptions
    assert fair.finished == starve.finished == 21


def test_las_and_gittins_never_read_the_duration() -> None:
    one_gpu = fleet([1])
    for durations in ((100, 10), (10, 100)):
        work = pods([(0, durations[0], 1, 1000, "LS"), (0, durations[1], 1, 1000, "LS")])
        for scheduler in ("tiresias", "gittins"):
            run = run_time(one_gpu, work, TimeConfig(scheduler=scheduler, preemption=True))
            # The first job starts first whatever the durations (arrival order).
            assert run.queueing_delay[list(run.job_idx).index(0)] == 0.0
            assert not run.config.clairvoyant
        sjf = run_time(one_gpu, work, TimeConfig(scheduler="sjf"))
        assert sjf.config.clairvoyant
        first = sjf.queueing_delay[list(sjf.job_idx).index(0)] == 0.0
        assert first == (durations[0] < durations[1])


def test_gittins_index_from_finished_jobs() -> None:
    same = np.full(10, 1000.0)
    # All jobs take 1000 GPU-s: one that has 960 behind it is nearly done.
    assert gittins_at(same, 0.0) == pytest.approx(1 / 1000)
    assert gittins_at(same, 960.0) == pytest.approx(1 / 40)
    heavy = np.array([100.0] * 9 + [10_000.0])
    # Heavy tail: a job past the common size is probably a long one (LAS-like).
    assert gittins_at(heavy, 0.0) == pytest.approx(0.9 / 100)
    assert gittins_at(heavy, 120.0) == pytest.approx(1 / 9880)
    assert gittins_at(heavy, 20_000.0) == 0.0
    g = GittinsIndex()
    assert g.index(0) > g.index(1000)  # before any sample: LAS order
    refits = [g.observe(x) for x in heavy]
    assert refits[-1] and sum(refits) == 1
    assert g.index(0.0) == pytest.approx(0.9 / 100)
    assert g.index(150.0) == pytest.approx(1 / 9880)  # snapped down to the 120 grid mark


def test_gittins_learns_online_in_a_run() -> None:
    one_gpu = fleet([1])
    work = pods([(i, 100, 1, 1000, "LS") for i in range(30)])
    run = run_time(one_gpu, work, TimeConfig(scheduler="gittins", preemption=True))
    assert run.finished == 30 and run.gittins_refits >= 2


def test_borrowed_quota_is_returned_by_preemption() -> None:
    # Dealt round-robin: p0, p2 -> a; p1, p3 -> b. Both of b's jobs start at 0 (one on
    # a's idle quota); a's job at 10 takes its quota back.
    tenants = (Partition("a", 1), Partition("b", 1))
    two_gpus = fleet([2], partitions=tenants)
    work = pods(
        [
            (10, 50, 1, 1000, "LS"),
            (0, 100, 1, 1000, "LS"),
            (500, 10, 1, 1000, "LS"),
            (0, 100, 1, 1000, "LS"),
        ]
    )
    strict = run_time(two_gpus, work, TimeConfig())
    assert sorted(strict.jct.tolist()) == [10.0, 50.0, 100.0, 200.0]
    assert (strict.partition_held <= 1.0).all()
    lend = run_time(two_gpus, work, TimeConfig(borrowing=True, preemption_cost_s=30))
    # The evicted b job ran 10 s, restarts when a's job ends at 60, restores 30 s.
    assert sorted(lend.jct.tolist()) == [10.0, 50.0, 100.0, 180.0]
    assert lend.quota_returns == 1 and lend.preemptions == 0
    held = lend.partition_held
    assert lend.partition_names == ("a", "b")
    assert (held.sum(axis=1) <= 2.0).all()
    assert (held[:, 0] <= 1.0).all()
    borrowing = held[:, 1] > 1.0
    assert borrowing.any() and (held[borrowing, 0] == 0).all()
    after = lend.util_times >= 10
    assert (held[after & (lend.util_times < 60), 1] <= 1.0).all()
    assert lend.by_partition["a"].finished == 2 and lend.by_partition["b"].finished == 2
    assert lend.by_partition["a"].jct_mean == pytest.approx(30.0)


def test_a_borrowing_job_never_preempts_the_lender() -> None:
    # Quotas a=3, b=1 on two one-GPU nodes (more quota than GPUs). X (a) runs from 0,
    # B0 (b) from 650. At 700 X is in the second LAS queue and B1 (b) comes in the first;
    # B1 could run only on quota borrowed from a, so it must not evict X. (It used to:
    # X then took its quota back by evicting B0, which, now borrowing and outranking X,
    # evicted X, and so on forever at t=700.) B1 waits until B0 has run 600 GPU-s and
    # falls to the second queue (t=1250): then B1, over b's quota, preempts B0, its own
    # partition's job, never X.
    tenants = (Partition("a", 3), Partition("b", 1))
    two_nodes = fleet([1, 1], partitions=tenants)
    work = pods(
        [
            (0, 5000, 1, 1000, "LS"),  # X, a
            (650, 1000, 1, 1000, "LS"),  # B0, b
            (9000, 10, 1, 1000, "LS"),  # a
            (700, 100, 1, 1000, "LS"),  # B1, b
        ]
    )
    cfg = TimeConfig(scheduler="tiresias", preemption=True, borrowing=True)
    run = run_time(two_nodes, work, cfg)
    assert run.preemptions == 1 and run.quota_returns == 0
    # B1 runs 1250..1350; B0 resumes at 1350, restores 30 s, runs its last 400 s.
    assert [run.jct_of(i) for i in range(4)] == [5000.0, 1130.0, 10.0, 650.0]
    # Without borrowing B1 is not admitted until B0 is evicted either: the same result.
    strict = run_time(two_nodes, work, TimeConfig(scheduler="tiresias", preemption=True))
    assert strict.jct.tolist() == run.jct.tolist()


def test_a_lender_takes_back_only_what_was_borrowed() -> None:
    # One GPU; quotas a=3, b=0.5. X (a) runs from 0; at 700 Z (b, 320 milli, inside b's
    # quota) preempts it (X is in the second LAS queue); at 710 Y (b, 460) borrows a's
    # idle quota, b is 280 over; at 720 a CPU pod ends and X is offered again. X may
    # evict Y to take its quota back but not Z, which runs inside b's own quota and
    # which X does not outrank. (Evicting both let X start, Z then preempted X again, Y
    # borrowed again, and so on forever at t=720.)
    tenants = (Partition("a", 3), Partition("b", 0.5))
    work = pods(
        [
            (0, 5000, 1, 1000, "LS"),  # X, a
            (700, 100, 1, 320, "LS"),  # Z, b
            (6000, 10, 1, 1000, "LS"),  # a
            (710, 100, 1, 460, "LS"),  # Y, b
            (0, 720, 0, 0, "LS"),  # a CPU pod
        ]
    )
    cfg = TimeConfig(scheduler="tiresias", preemption=True, borrowing=True, preemption_cost_s=30)
    run = run_time(fleet([1], partitions=tenants), work, cfg)
    assert run.preemptions == 1 and run.quota_returns == 0
    # X waits for both (Y alone would not free a whole GPU), resumes at 810 + 30 s.
    assert [run.jct_of(i) for i in range(5)] == [5140.0, 100.0, 10.0, 100.0, 720.0]


def _at_quota(first_s: int) -> list[tuple]:
    # Quotas a=1, b=1 on one three-GPU node, dealt a, b, a: L (a, first_s) and O (b,
    # 5000 s) run from 0; S (a, 100 s) comes at 300 with a GPU idle but a at its quota.
    return [(0, first_s, 1, 1000, "LS"), (0, 5000, 1, 1000, "LS"), (300, 100, 1, 1000, "LS")]


def test_a_job_over_its_quota_preempts_its_own_partitions_job() -> None:
    tenants = (Partition("a", 1), Partition("b", 1))
    three = fleet([3], partitions=tenants)
    work = pods(_at_quota(5000))
    pre = TimeConfig(scheduler="tiresias", preemption=True, preemption_cost_s=30)
    runs = {
        "fifo": run_time(three, work, TimeConfig(scheduler="fifo")),
        "las": run_time(three, work, TimeConfig(scheduler="tiresias")),
        "fifo+pre": run_time(three, work, TimeConfig(scheduler="fifo", preemption=True)),
        "las+pre": run_time(three, work, pre),
    }
    for name in ("fifo", "las", "fifo+pre"):  # S waits for L to end at 5000
        assert [runs[name].jct_of(i) for i in range(3)] == [5000.0, 5000.0, 4800.0], name
        assert runs[name].preemptions == 0
    run = runs["las+pre"]
    # At 600 L falls to the second queue; S (first queue) evicts L, not b's O (which is
    # in the same queue and started later, so first in the eviction order otherwise),
    # runs 600..700; L resumes at 700, restores 30 s, runs its last 4400 s.
    assert [run.jct_of(i) for i in range(3)] == [5130.0, 5000.0, 400.0]
    assert run.preemptions == 1 and run.quota_returns == 0
    assert (run.partition_held <= 1.0).all()  # a never passes its quota
    assert run.jct_stat("mean") < min(runs[n].jct_stat("mean") for n in ("fifo", "las"))


def test_a_job_over_its_quota_never_preempts_another_partition() -> None:
    # L (a, 500 s) stays in the first queue, so S outranks only b's O (second queue
    # from 600 on): S waits for L to end at 500 and evicts nobody.
    tenants = (Partition("a", 1), Partition("b", 1))
    cfg = TimeConfig(scheduler="tiresias", preemption=True)
    run = run_time(fleet([3], partitions=tenants), pods(_at_quota(500)), cfg)
    assert [run.jct_of(i) for i in range(3)] == [500.0, 5000.0, 300.0]
    assert run.preemptions == 0


def test_priority_does_not_preempt_inside_a_partition_at_its_quota() -> None:
    # As ``_at_quota`` with L a BE job: priority's LS-over-BE rule evicts only while the
    # LS job is inside its quota, so S waits for L; tiresias's LAS rule evicts L.
    tenants = (Partition("a", 1), Partition("b", 1))
    three = fleet([3], partitions=tenants)
    work = pods([(0, 5000, 1, 1000, "BE"), (0, 5000, 1, 1000, "LS"), (300, 100, 1, 1000, "LS")])
    prio = run_time(three, work, TimeConfig(scheduler="priority"))
    assert TimeConfig(scheduler="priority").preempts and prio.preemptions == 0
    assert prio.jct_of(2) == 4800.0
    las = run_time(three, work, TimeConfig(scheduler="tiresias", preemption=True))
    assert las.preemptions == 1 and las.jct_of(2) == 400.0
