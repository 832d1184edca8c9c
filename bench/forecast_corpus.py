"""The forecasting benchmark's corpus: real series at 5 minutes, each in a group.

* CPU-like: the NAB AWS CPU series (EC2, RDS, the auto-scaling group's grok series),
  NAB realKnownCause's mean CPU of an auto-scaling group (2 months, misconfigured near
  its end: the level up from ~40 to ~57 % on 2014-07-12, down to ~14 % on 07-15, both
  among the scored origins) and four PlanetLab sums (the 1,052 VMs of 2011-03-03 in
  four sorted blocks, summed: one day each).
* request-like: the other NAB AWS series (ELB requests, network, disk bytes), NAB
  realKnownCause's EC2 request latency (14 days; a latency, not a volume, but driven by
  the load like the others here, so it is scored with them), the ten NAB realTweets
  volumes, NASA HTTP (per-minute requests averaged to 5 minutes, the outage held at the
  last value) and the GenAI (Alibaba, SoCC'25) requests counted per 5 minutes.

Two auto-scaling groups' CPU, not one: a rule that acts only on a series with a break
(auto's break check) can be picked leave-one-series-out only if another series has one.
NAB's nyc_taxi is left out: it is at 30 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

STEP = timedelta(minutes=5)
GROUPS = ("cpu", "request")
PLANETLAB_BLOCKS = 4
# NAB realKnownCause's 5-minute cloud series (by name: the folder also holds nyc_taxi)
KNOWN_CAUSE = ("cpu_utilization_asg_misconfiguration", "ec2_request_latency_system_failure")


@dataclass(frozen=True)
class CorpusSeries:
    """One series: ``values[i]`` at ``start + i * STEP``."""

    name: str
    group: str
    values: np.ndarray
    start: pd.Timestamp

    def series(self) -> pd.Series:
        index = pd.date_range(self.start, periods=len(self.values), freq=STEP)
        return pd.Series(self.values, index=index)


def _nab_group(name: str) -> str:
    return "cpu" if "cpu" in name or name.startswith("grok_asg") else "request"


def _from_trace(path: Path, group: str) -> CorpusSeries:
    """A ``timestamp,value`` file on the 5-minute grid (mean of finer samples, gaps held).

    A repeated timestamp (two NAB files repeat the hour a clock went back; the EC2
    latency file stamps a whole hour 03:00 where the clock went forward) keeps the
    first sample.
    """
    frame = pd.read_csv(path)
    index = pd.to_datetime(frame.iloc[:, 0], utc=True)
    s = pd.Series(frame.iloc[:, 1].to_numpy(dtype=float), index=index)
    s = s[~s.index.duplicated()].sort_index()
    s = s.resample(STEP, origin="start").mean().ffill()
    return CorpusSeries(path.stem, group, s.to_numpy(dtype=float), s.index[0])


def _planetlab(folder: Path) -> list[CorpusSeries]:
    files = sorted(folder.iterdir())
    blocks = np.array_split(np.arange(len(files)), PLANETLAB_BLOCKS)
    start = pd.Timestamp("2011-03-03", tz="UTC")
    out = []
    for b, idx in enumerate(blocks):
        total = sum(np.loadtxt(files[i], dtype=float) for i in idx)
        out.append(CorpusSeries(f"planetlab_sum_{b + 1}", "cpu", np.asarray(total), start))
    return out


def _genai(path: Path) -> CorpusSeries:
    frame = pd.read_csv(path, usecols=["gmt_create"])
    times = pd.to_datetime(frame["gmt_create"], utc=True)
    counts = times.dt.floor("5min").value_counts().sort_index()
    full = pd.date_range(counts.index[0], counts.index[-1], freq="5min")
    counts = counts.reindex(full, fill_value=0)
    return CorpusSeries("genai_requests", "request", counts.to_numpy(dtype=float), full[0])


def load_corpus(data: Path) -> list[CorpusSeries]:
    """Every series of the corpus, in a fixed order (raises on a missing file)."""
    out = [
        _from_trace(p, _nab_group(p.stem))
        for p in sorted((data / "nab" / "realAWSCloudwatch").glob("*.csv"))
    ]
    known = data / "nab" / "realKnownCause"
    out += [_from_trace(known / f"{name}.csv", _nab_group(name)) for name in KNOWN_CAUSE]
    out += [_from_trace(p, "request") for p in sorted((data / "nab" / "realTweets").glob("*.csv"))]
    out.append(_from_trace(data / "nasa-http-1995" / "nasa_http_1995_per_minute.csv", "request"))
    out.append(_genai(data / "alibaba-genai-v2026" / "lora_request_trace.csv"))
    out += _planetlab(data / "planetlab" / "20110303")
    return out
