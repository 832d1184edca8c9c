"""Compaction: with migration on, a running job moves while nothing waits when that
lowers the FGD fragmentation; it never splits a node's idle GPUs up; its pause is charged;
the one-node fragmentation it uses is the measure's."""

from __future__ import annotations

import numpy as np

from autoscaler.simulator.gpu.compaction import _node_frag, _shapes_per_model
from autoscaler.simulator.gpu.fragmentation import node_frag, typical_pods
from autoscaler.simulator.gpu.pods import PodTable
from autoscaler.simulator.gpu.time_replay import TimeConfig, run_time
from tests.unit.gpufleet.test_time_replay import fleet
from tests.unit.gpufleet.test_time_replay import pods as ls_pods


def pods(rows: list[tuple[float, float, int, int]]) -> PodTable:
    """rows: (arrival, duration, num_gpu, gpu_milli), every pod LS."""
    return ls_pods([(*r, "LS") for r in rows])


def test_a_share_left_alone_moves_onto_the_other_share_and_pays_the_pause() -> None:
    # Two one-GPU nodes: p0 (700, ends at 10) and p2 (300) share node 0, p1 (700) runs on
    # node 1. When p0 ends, p2 is alone on node 0 and node 1 has exactly its 300 left:
    # moving it there leaves a whole idle GPU (fragmentation 200 -> 0 milli).
    work = pods([(0, 10, 1, 700), (0, 1000, 1, 700), (1, 1000, 1, 300)])
    moved = run_time(fleet([1, 1]), work, TimeConfig(migration=True, migration_cost_s=60))
    assert moved.migrations == moved.compactions == 1
    # p2 ran 9 s, pauses 60 s on node 1, then runs its 991 s left: JCT 10 + 60 + 991 - 1.
    assert moved.jct_of(2) == 1060.0
    assert moved.pause_seconds == 60.0
    still = run_time(fleet([1, 1]), work, TimeConfig(migration=False))
    assert still.migrations == still.compactions == 0
    assert still.jct_of(2) == 1000.0
    assert moved.mean_fragmentation_pct < still.mean_fragmentation_pct


def test_a_share_moves_to_another_gpu_of_its_own_node() -> None:
    # The same on one node with two GPUs: p2 ends up alone on GPU 0 and moves to GPU 1.
    work = pods([(0, 10, 1, 700), (0, 1000, 1, 700), (1, 1000, 1, 300)])
    moved = run_time(fleet([2]), work, TimeConfig(migration=True, migration_cost_s=60))
    assert moved.migrations == moved.compactions == 1
    assert moved.jct_of(2) == 1060.0
    still = run_time(fleet([2]), work, TimeConfig(migration=False))
    assert moved.mean_fragmentation_pct < still.mean_fragmentation_pct


def test_it_never_splits_idle_gpus_up() -> None:
    # Node 0 (2 GPUs) runs one long 1-GPU job, node 1 (4 GPUs) is idle once a short job
    # ends. Two-GPU pods are typical, so node 0's one idle GPU is fragmented, and moving
    # the long job to node 1 would lower the measure, but would leave 2 + 3 idle GPUs
    # instead of 1 + 4: the rare 4-GPU pod arriving later could then not start.
    rows = [(0, 5000, 1, 1000)] + [(0, 5, 2, 1000)] * 2 + [(1, 5, 2, 1000)] * 40
    work = pods([*rows, (3000, 100, 4, 1000)])
    run = run_time(fleet([2, 4]), work, TimeConfig(migration=True))
    assert run.compactions == 0
    assert run.jct_of(len(rows)) == 100.0


def test_one_node_fragmentation_is_the_measure() -> None:
    work = pods([(0, 1, 1, m) for m in (1000, 1000, 500, 250, 700)] + [(0, 1, 2, 1000)] * 2)
    tp = typical_pods(work, ("A",))
    shapes = _shapes_per_model(tp, 1)
    rng = np.random.default_rng(7)
    for _ in range(300):
        row = rng.choice([0, 100, 250, 300, 500, 700, 1000], 8)
        cpu = int(rng.integers(0, 3000))
        want = node_frag(tp, np.array([cpu]), np.array([row]), np.array([0]))[0]
        assert abs(_node_frag(shapes, 0, cpu, tuple(row.tolist())) - want) < 1e-6
    assert _node_frag(shapes, -1, 5000, (1000,) * 8) == 0.0  # a node without GPUs
