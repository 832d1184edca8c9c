"""bench/forecast_corpus.py: which files make the corpus, in which group, on the 5-minute grid.

Built on a small data tree in ``tmp_path`` laid out as ``../shared/data`` is, so that it
runs where the real traces are absent.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

_PATH = Path(__file__).resolve().parents[3] / "bench" / "forecast_corpus.py"
_SPEC = importlib.util.spec_from_file_location("forecast_corpus_bench", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
corpus = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = corpus  # its dataclass looks its module up there
_SPEC.loader.exec_module(corpus)


def _trace(path: Path, stamps: list[str], values: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(path, index=False)


def _grid(start: str, n: int, minutes: int = 5) -> list[str]:
    times = pd.date_range(start, periods=n, freq=f"{minutes}min")
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in times]


def _data_tree(root: Path) -> Path:
    nab = root / "nab"
    _trace(nab / "realAWSCloudwatch" / "grok_asg_anomaly.csv", _grid("2014-01-16", 6), [1.0] * 6)
    _trace(
        nab / "realAWSCloudwatch" / "elb_request_count_8c0756.csv",
        _grid("2014-04-10", 6),
        [2.0] * 6,
    )
    for name in corpus.KNOWN_CAUSE:
        _trace(nab / "realKnownCause" / f"{name}.csv", _grid("2014-03-07 03:41", 6), [3.0] * 6)
    _trace(nab / "realKnownCause" / "nyc_taxi.csv", _grid("2014-07-01", 6, 30), [4.0] * 6)
    _trace(nab / "realTweets" / "Twitter_volume_AAPL.csv", _grid("2015-02-26", 6), [5.0] * 6)
    nasa = root / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
    nasa.parent.mkdir(parents=True)
    pd.DataFrame({"timestamp": _grid("1995-07-01", 10, 1), "requests": range(10)}).to_csv(
        nasa, index=False
    )
    genai = root / "alibaba-genai-v2026" / "lora_request_trace.csv"
    genai.parent.mkdir(parents=True)
    pd.DataFrame({"gmt_create": ["2025-01-01 00:01:00", "2025-01-01 00:12:00"]}).to_csv(
        genai, index=False
    )
    planetlab = root / "planetlab" / "20110303"
    planetlab.mkdir(parents=True)
    for i in range(corpus.PLANETLAB_BLOCKS):
        np.savetxt(planetlab / f"vm{i}", np.full(288, i), fmt="%d")
    return root


def test_the_known_cause_cloud_series_join_their_groups_and_nyc_taxi_does_not(
    tmp_path: Path,
) -> None:
    groups = {s.name: s.group for s in corpus.load_corpus(_data_tree(tmp_path))}
    assert groups["cpu_utilization_asg_misconfiguration"] == "cpu"
    assert groups["ec2_request_latency_system_failure"] == "request"
    assert groups["grok_asg_anomaly"] == "cpu"
    assert groups["elb_request_count_8c0756"] == "request"
    assert "nyc_taxi" not in groups  # 30-minute steps: not on the corpus's grid
    assert len(groups) == 2 + 2 + 1 + 1 + 1 + corpus.PLANETLAB_BLOCKS


def test_an_hour_stamped_at_one_time_keeps_its_first_sample_and_the_gaps_are_held(
    tmp_path: Path,
) -> None:
    # as the EC2 latency file has it: the hour after 01:56 stamped 03:00 (three samples
    # here), the next at 03:01 (a minute, not five, later), then one sample missing
    stamps = ["01:51", "01:56", "03:00", "03:00", "03:00", "03:01", "03:06", "03:16"]
    values = [1.0, 2.0, 3.0, 30.0, 300.0, 4.0, 5.0, 6.0]
    path = tmp_path / "latency.csv"
    _trace(path, [f"2014-03-09 {t}:00" for t in stamps], values)
    s = corpus._from_trace(path, "request").series()
    assert s.index[0] == pd.Timestamp("2014-03-09 01:51", tz="UTC")
    assert (s.index.to_series().diff().dropna() == corpus.STEP).all()
    assert s[pd.Timestamp("2014-03-09 02:56", tz="UTC")] == 3.0  # 03:00: the first kept
    assert (s["2014-03-09 02:01":"2014-03-09 02:51"] == 2.0).all()  # the lost hour held
    assert s[pd.Timestamp("2014-03-09 03:01", tz="UTC")] == 4.0
    assert s[pd.Timestamp("2014-03-09 03:11", tz="UTC")] == 5.0  # the missing one held
    assert s.iloc[-1] == 6.0 and not s.isna().any()
