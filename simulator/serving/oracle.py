"""What the oracle knows: every arrival, hence how many replicas each bin needs for no
request to wait at all, and when replicas must be launched to be there in time."""

from __future__ import annotations

import math

import numpy as np


def busy_per_bin(
    arrival: np.ndarray, exec_seconds: np.ndarray, bin_seconds: float, n_bins: int
) -> np.ndarray:
    """The most requests executing at once during each bin, if each starts on arrival."""
    t = np.concatenate([arrival, arrival + exec_seconds])
    d = np.concatenate([np.ones(len(arrival)), -np.ones(len(arrival))]).astype(np.int64)
    order = np.lexsort((d, t))  # at equal times an end comes before a start
    level = np.cumsum(d[order])
    bins = np.minimum((t[order] // bin_seconds).astype(np.int64), n_bins - 1)
    peak = np.zeros(n_bins, dtype=np.int64)
    np.maximum.at(peak, bins, level)
    # the level a bin opens with is the one the previous events left
    end_level = np.full(n_bins, -1, dtype=np.int64)
    end_level[bins] = level  # the last event of a bin wins (bins are sorted)
    filled = np.maximum.accumulate(np.where(end_level >= 0, np.arange(n_bins), -1))
    carried = np.where(filled >= 0, end_level[np.maximum(filled, 0)], 0)
    opening = np.concatenate([[0], carried[:-1]])
    return np.maximum(peak, opening)


def launch_lead_bins(max_cold_start: float, slo_seconds: float, bin_seconds: float) -> int:
    """Bins ahead of need the oracle launches a replica: enough that even the longest
    measured cold start keeps the wait within the SLO."""
    return max(0, math.ceil((max_cold_start - slo_seconds) / bin_seconds - 1e-9))
