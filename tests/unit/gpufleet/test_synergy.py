"""Synergy allocation from the authors' profiles: reading the table, the greedy grant,
lending and taking back (by hand), never slower than proportional (property), and that
it beats GPU-proportional where CPU is scarce."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaler.simulator.gpu.allocation import (
    NodeShape,
    fastest_within,
    ladder,
    proportional_grant,
    synergy_minimum,
)
from autoscaler.simulator.gpu.fleet import Fleet
from autoscaler.simulator.gpu.synergy_profiles import (
    PROFILED_GPUS,
    TASK_MODELS,
    ProfileBook,
    ProfileError,
    load_profiles,
)
from autoscaler.simulator.gpu.time_replay import SCHEDULERS, TimeConfig, run_time
from tests.unit.gpufleet.conftest import DATA
from tests.unit.gpufleet.test_time_replay import pods

PROFILES = DATA.parent / "synergy-profiles" / "profiles.json"
GIB = 1024
SYNERGY_SERVER = NodeShape(24_000, 500 * GIB, 8)


@pytest.fixture(scope="module")
def book() -> ProfileBook:
    return load_profiles(PROFILES)


def test_every_profile_runs_at_rate_one_at_the_proportional_share(book) -> None:
    # The table is normalised to 3 CPUs and 62.5 GB per GPU on the authors' servers.
    for (model, gpus), prof in book.by_key.items():
        if gpus in (1, 2, 4):
            assert prof.rate_at(3, 62.5) == pytest.approx(1.0), (model, gpus)
            assert proportional_grant(prof, SYNERGY_SERVER, gpus).rate == pytest.approx(1.0)
        assert (np.diff(prof.rate, axis=0) >= 0).all() and (np.diff(prof.rate, axis=1) >= 0).all()


def test_table_points_as_published(book) -> None:
    res18 = book.profile("res18", 1)
    assert res18.rate_at(9, 62.5) == pytest.approx(2.4)
    assert res18.rate_at(24, 250) == pytest.approx(2.4)
    assert book.profile("alexnet", 1).rate_at(12, 125) == pytest.approx(2.94)
    # Unprofiled points (0 in the file) take the best rate at or below them.
    assert book.profile("res18", 2).rate_at(12, 62.5) == pytest.approx(2.4)
    assert book.profile("res18", 8) is book.profile("res18", 4)
    assert book.profile("gnmt", 1).rate_at(1, 20.83) == pytest.approx(1.0)


def test_greedy_grant(book) -> None:
    gnmt, res18 = book.profile("gnmt", 1), book.profile("res18", 1)
    lean = synergy_minimum(gnmt, SYNERGY_SERVER, 1.0)
    assert (lean.cpu, lean.rate) == (1000, 1.0)  # language jobs do not need CPU
    assert lean.mem == int(20.83 * GIB)
    floor = synergy_minimum(res18, SYNERGY_SERVER, 1.0)
    assert (floor.cpu, floor.mem, floor.rate) == (3000, int(62.5 * GIB), 1.0)
    lad = ladder(res18, 1.0)
    assert [p.rate for p in lad.points] == sorted((p.rate for p in lad.points), reverse=True)
    more = fastest_within(lad, 12_000, 125 * GIB, floor)
    assert (more.cpu, more.mem, more.rate) == (9000, int(62.5 * GIB), 2.4)  # stops at 9
    assert fastest_within(lad, 2_000, 10 * GIB, floor) is floor
    some = fastest_within(lad, 6_500, 500 * GIB, floor)
    assert (some.cpu, some.mem, some.rate) == (6000, int(62.5 * GIB), 1.75)
    assert fastest_within(lad, 12_000, 125 * GIB, floor, current=more) is more
    half = fastest_within(ladder(res18, 0.5), 24_000, 500 * GIB, floor)
    assert (half.cpu, half.rate) == (4500, 2.4)  # a GPU share scales the table


def synergy_servers(n: int = 1) -> Fleet:
    return Fleet(
        names=tuple(f"s{i}" for i in range(n)),
        cpu_milli=np.full(n, 24_000),
        memory_mib=np.full(n, 500 * GIB),
        gpus=np.full(n, 8),
        gpu_model=("V100",) * n,
    )


def only(book: ProfileBook, model: str) -> ProfileBook:
    """A book in which every job gets ``model``'s table."""
    keys = [k for k in book.by_key if k[1] in PROFILED_GPUS]
    return ProfileBook({key: book.by_key[(model, key[1])] for key in keys})


def test_lent_cpu_is_taken_back_for_a_new_job_and_lent_again_when_freed(book) -> None:
    # res18 on a Synergy server: guaranteed 3 CPUs (rate 1), pays up to 9 (rate 2.4).
    # p0 runs alone at 9 CPUs; at t=100 seven more arrive and need 3 each (21 of the 24):
    # the 7th takes p0 back to 6 CPUs (1.75) and the 8th to 3 (1.0), and none waits.
    work = pods([(0, 2400, 1, 1000, "LS")] + [(100, 2400, 1, 1000, "LS")] * 7)
    run = run_time(synergy_servers(), work, TimeConfig(allocation="synergy"), only(book, "res18"))
    assert run.finished == 8 and run.queueing_delay.max() == 0
    assert run.reclaims == 2
    # p0: 100 s at 2.4 (240 of work), the rest at 1.0 -> ends at 100 + 2160.
    assert run.jct_of(0) == pytest.approx(2260)
    # When p0 leaves its 3 CPUs go to the earliest job still running (p1, to 6 CPUs):
    # it has 240 s of work left then, done at 1.75.
    assert run.jct_of(1) == pytest.approx(2160 + 240 / 1.75)
    # p1's 6 CPUs then go to p2 (9 CPUs, 2.4) for its last 2400 - 2297.14 s of work.
    p1_end = 2160 + 240 / 1.75
    assert run.jct_of(2) == pytest.approx(p1_end + (2400 - p1_end) / 2.4)
    assert all(run.jct_of(i) < 2400 for i in range(3, 8))
    prop = run_time(synergy_servers(), work, TimeConfig(allocation="proportional"), book)
    assert prop.jct.tolist() == [2400.0] * 8 and prop.reclaims == 0


def test_insensitive_jobs_hold_less_than_proportional_so_more_run(book) -> None:
    # gnmt needs 1 CPU and 20.8 GB per GPU; a CPU pod asking for 16 CPUs fits beside
    # eight of them under synergy but waits for them under proportional (3 CPUs each).
    work = pods([(0, 1000, 1, 1000, "LS")] * 8 + [(1, 500, 0, 0, "BE")])
    work = dataclasses.replace(work, cpu_milli=np.array([1000] * 8 + [16_000]))
    gnmt = only(book, "gnmt")
    syn = run_time(synergy_servers(), work, TimeConfig(allocation="synergy"), gnmt)
    prop = run_time(synergy_servers(), work, TimeConfig(allocation="proportional"), gnmt)
    assert syn.jct_of(8) == 500 and prop.jct_of(8) == 1499
    assert syn.jct_stat("mean") < prop.jct_stat("mean")


_rows = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.integers(1, 60),
        st.sampled_from([1, 1, 1, 2, 4, 8]),
        st.sampled_from([250, 500, 1000, 1000]),
    ).map(lambda r: (r[0], r[1], r[2], 1000 if r[2] > 1 else r[3], "LS")),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work=_rows, scheduler=st.sampled_from(SCHEDULERS), migration=st.booleans())
def test_synergy_never_overallocates_nor_runs_a_job_slower_than_proportional(
    work, scheduler, migration, book
) -> None:
    # The run asserts, node by node, that held plus lent CPU and memory stay within the
    # node after every reclaim and top-up; on Synergy's servers the proportional share
    # runs at rate 1, so no job may take longer than its trace duration once started.
    table = pods(work)
    run = run_time(
        synergy_servers(2),
        table,
        TimeConfig(
            scheduler=scheduler,
            preemption=False,
            migration=migration,
            allocation="synergy",
            migration_cost_s=0,
        ),
        book,
    )
    assert run.finished == len(work)
    ran = run.jct - run.queueing_delay
    assert (ran <= table.duration[run.job_idx] + 1e-6).all()


def test_synergy_beats_proportional_where_cpu_is_scarce(book) -> None:
    server = synergy_servers()
    work = pods([(0, 1000, 1, 1000, "LS")] * 16)
    prop = run_time(server, work, TimeConfig(allocation="proportional", seed=3), book)
    syn = run_time(server, work, TimeConfig(allocation="synergy", seed=3), book)
    assert prop.jct.tolist() == [1000.0] * 8 + [2000.0] * 8  # rate 1 at 3 CPUs per GPU
    assert syn.finished == 16
    assert syn.jct_stat("mean") < prop.jct_stat("mean")
    assert syn.jct.max() <= prop.jct.max()


def test_bad_profile_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profiles(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ProfileError, match="not a Synergy profile file"):
        load_profiles(bad)
    doc = json.loads(PROFILES.read_text())
    doc["profiles"] = [p for p in doc["profiles"] if p["model"] != "m5"]
    bad.write_text(json.dumps(doc))
    with pytest.raises(ProfileError, match="no profile for m5"):
        load_profiles(bad)
    assert "m5" in TASK_MODELS["speech"]
