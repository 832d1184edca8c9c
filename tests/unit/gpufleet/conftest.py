"""Shared fixtures: the real openb traces (read from ../shared/data) and tiny fleets."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.simulator.gpu.fleet import load_node_csv
from autoscaler.simulator.gpu.pods import load_pods

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alibaba-gpu-v2023"
EXPECTED = DATA.parent / "fgd-expected-results"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"the openb traces are expected at {DATA}"
    return DATA


@pytest.fixture(scope="session")
def openb_fleet(data_dir: Path):
    return load_node_csv(data_dir / "openb_node_list_all_node.csv")


@pytest.fixture(scope="session")
def openb_pods(data_dir: Path):
    return load_pods(data_dir / "openb_pod_list_default.csv")
