"""Real trace slices for the forecaster tests (read from ``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from forecast_data import NAB_CPU, NASA, STEP

from autoscaler.traces import load_trace


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real trace not found at {path}")
    return path


@pytest.fixture(scope="session")
def nab_cpu() -> pd.Series:
    """Three days of real EC2 CPU utilisation at 5 minutes (864 points)."""
    return load_trace(_require(NAB_CPU)).series.iloc[:864]


@pytest.fixture(scope="session")
def nab_cpu_path() -> Path:
    return _require(NAB_CPU)


@pytest.fixture(scope="session")
def nasa_path() -> Path:
    return _require(NASA)


@pytest.fixture(scope="session")
def nasa_5m() -> pd.Series:
    """Three days of the NASA HTTP trace, requests per minute averaged to 5 minutes."""
    trace = load_trace(_require(NASA), fill="previous", resample=STEP)
    return trace.series.iloc[:864]


@pytest.fixture()
def nab_slice_csv(tmp_path: Path, nab_cpu: pd.Series) -> Path:
    """The NAB slice written back out as a timestamp,value CSV (a real trace, cut short)."""
    path = tmp_path / "cpu.csv"
    frame = nab_cpu.rename("value").to_frame()
    frame.index = frame.index.strftime("%Y-%m-%d %H:%M:%S")
    frame.to_csv(path, index_label="timestamp")
    return path


@pytest.fixture
def pool_stored_without():
    """A ``ScorePool`` with 60 fit scores, as unpickled from a version that lacked
    ``fields`` (its ``__setstate__`` fills them in)."""
    from autoscaler.forecasters.aci import ScorePool

    def make(*fields: str) -> ScorePool:
        pool = ScorePool(leads=None)
        pool.add(np.arange(1, 61), np.linspace(0, 3, 60))
        assert set(fields) <= set(pool.__dict__), "not a field of today's ScorePool"
        state = {k: v for k, v in pool.__dict__.items() if k not in fields}
        old = ScorePool.__new__(ScorePool)
        old.__setstate__(state)
        return old

    return make
