"""A one-group, one-model serving cluster for hand-computed cases: requests of model A
at ``arrival`` seconds taking ``exec_seconds`` each, every cold start 10 s, 2 s bins."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from autoscaler.simulator.serving.cluster import ServingCluster
from autoscaler.simulator.serving.requests import RequestTrace

T0 = datetime(2024, 11, 15, tzinfo=UTC)


def one_model_cluster(arrival: list[float], exec_seconds: list[float]) -> ServingCluster:
    """Group ``g`` over the requests, no replica yet; the replay runs to 40 s."""
    n = len(arrival)
    trace = RequestTrace(
        T0,
        np.asarray(arrival, dtype=float),
        np.zeros(n, dtype=np.int64),
        np.asarray(exec_seconds, dtype=float),
        np.ones(n, dtype=bool),
        ("A",),
    )
    return ServingCluster(trace, ("g",), np.array([0]), np.array([10.0]), horizon=40.0)
