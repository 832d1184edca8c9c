"""Synergy allocation from the authors' profiles: reading the table, the greedy grant,
and that it beats GPU-proportional where CPU is scarce."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autoscaler.simulator.gpu.allocation import (
    NodeShape,
    best_within,
    proportional_grant,
    synergy_minimum,
)
from autoscaler.simulator.gpu.synergy_profiles import (
    TASK_MODELS,
    ProfileBook,
    ProfileError,
    load_profiles,
)
from autoscaler.simulator.gpu.time_replay import TimeConfig, run_time
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
    more = best_within(res18, 1.0, 12_000, 125 * GIB, floor)
    assert (more.cpu, more.mem, more.rate) == (9000, int(62.5 * GIB), 2.4)  # stops at 9
    assert best_within(res18, 1.0, 2_000, 10 * GIB, floor) is floor


def test_synergy_beats_proportional_where_cpu_is_scarce(book) -> None:
    from autoscaler.simulator.gpu.fleet import Fleet

    server = Fleet(
        names=("s0",),
        cpu_milli=np.array([24_000]),
        memory_mib=np.array([500 * GIB]),
        gpus=np.array([8]),
        gpu_model=("V100",),
    )
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
