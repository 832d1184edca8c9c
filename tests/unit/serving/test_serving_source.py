"""The serving metrics a policy reads, against hand-computed cases: 2 s bins, every
cold start 10 s."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from autoscaler.config import ConfigError, parse_config
from autoscaler.model import ScaleAction
from autoscaler.simulator.serving.source import ServingSource, trailing_mean
from tests.unit.serving.one_model import T0, one_model_cluster

STEP = timedelta(seconds=2)


def _window(src: ServingSource, t: float, span_s: float = 40.0) -> list[float]:
    end = T0 + timedelta(seconds=t)
    return list(src.window("", end, timedelta(seconds=span_s), STEP).values)


def test_trailing_mean_by_hand() -> None:
    counts = np.array([1.0, 0.0, 3.0, 0.0, 0.0, 2.0])
    # each bin: the mean of the 3 bins ending with it, bins before the first empty
    expected = [1 / 3, 1 / 3, 4 / 3, 1.0, 1.0, 2 / 3]
    assert list(trailing_mean(counts, 3)) == pytest.approx(expected)
    assert trailing_mean(counts, 1) is counts


def test_arrival_rate_over_a_trailing_window() -> None:
    # arrivals at 1 s, 2.5 s, 3 s and 9 s: per 2 s bin 1, 2, 0, 0, 1
    c = one_model_cluster([1.0, 2.5, 3.0, 9.0], [1.0] * 4)
    per_bin = ServingSource(c, "g", "arrival_rate")
    windowed = ServingSource(c, "g", "arrival_rate", rate_bins=2)
    c.advance(10.0)
    assert _window(per_bin, 10.0) == [0.5, 1.0, 0.0, 0.0, 0.5]
    # over the 2 bins (4 s) ending with each: 1, 3, 2, 0, 1 arrivals
    assert _window(windowed, 10.0) == [0.25, 0.75, 0.5, 0.0, 0.25]


def test_the_rate_never_reads_a_bin_that_is_not_over() -> None:
    # the same arrivals until 11 s; the second trace has a burst from 11 s on
    quiet = one_model_cluster([1.0, 5.0], [1.0, 1.0])
    burst = one_model_cluster([1.0, 5.0, 11.0, 11.5, 12.0], [1.0] * 5)
    for k in (1, 3):
        a = ServingSource(quiet, "g", "arrival_rate", rate_bins=k)
        b = ServingSource(burst, "g", "arrival_rate", rate_bins=k)
        for t in (2.0, 6.0, 10.0):
            assert _window(a, t) == _window(b, t)
        # the bin [10, 12) is over at 12 s and holds the burst's first two
        assert _window(a, 12.0) != _window(b, 12.0)


def test_little_rate_is_the_concurrency_over_the_mean_service_time() -> None:
    # one request in the system from 1 s (it waits for the cold start until 10 s) to 15 s
    c = one_model_cluster([1.0], [5.0])
    src = ServingSource(c, "g", "little_rate", mean_service=4.0)
    conc = ServingSource(c, "g", "concurrency")
    c.scale(ScaleAction("g", "up", T0, 0, 1, "test"))
    c.advance(16.0)
    mean_in_system = [0.5, 1, 1, 1, 1, 1, 1, 0.5]  # per 2 s bin
    assert _window(conc, 16.0) == pytest.approx(mean_in_system)
    assert _window(src, 16.0) == pytest.approx([x / 4.0 for x in mean_in_system])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"metric": "queue"}, "unknown serving metric"),
        ({"rate_bins": 0}, "rate_bins must be at least 1"),
        ({"mean_service": 0.0}, "mean_service must be positive"),
    ],
)
def test_the_source_rejects_bad_arguments(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ServingSource(one_model_cluster([1.0], [1.0]), "g", **kwargs)


@pytest.mark.parametrize(
    ("serving", "error"),
    [
        (
            {"rate_window": "-30s"},
            '<config>: serving.rate_window: invalid duration "-30s" (use 90s, 5m, 1h)',
        ),
        (
            {"qos_rate": "erlang"},
            "<config>: serving.qos_rate: Input should be 'arrivals' or 'little'",
        ),
        (
            {"rate_window": "30s", "qos_rate": "little"},
            "<config>: serving: rate_window applies to qos_rate: arrivals only, not little",
        ),
    ],
)
def test_the_config_rejects_bad_rate_settings_in_one_line(serving: dict, error: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"serving": serving})
    assert info.value.errors == [error]


def test_the_config_reads_good_rate_settings() -> None:
    cfg = parse_config({"serving": {"rate_window": "1m", "qos_rate": "arrivals"}})
    assert cfg.serving.rate_window == timedelta(minutes=1)
    assert parse_config({"serving": {"qos_rate": "little"}}).serving.qos_rate == "little"
    # off by default: each interval's own arrivals, as before the options existed
    default = parse_config({"serving": {}}).serving
    assert default is not None
    assert (default.rate_window, default.qos_rate) == (timedelta(0), "arrivals")
