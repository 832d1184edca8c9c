"""The reactive policies and the oracle, as tables of cases."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from autoscaler.model import GroupSpec, GroupStatus, MetricWindow, PolicyContext
from autoscaler.policies.oracle import OraclePolicy, oracle_plan
from autoscaler.policies.target import TargetPolicy
from autoscaler.policies.threshold import ThresholdPolicy

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
SPEC = GroupSpec(name="g", min_size=1, max_size=50, capacity_per_instance=100.0)


def ctx(
    loads: list[float], ready: int, booting: int = 0, step: timedelta = timedelta(minutes=1)
) -> PolicyContext:
    window = MetricWindow(NOW - step, step, np.array(loads, dtype=float))
    return PolicyContext(NOW, SPEC, GroupStatus(ready, booting), window)


@pytest.mark.parametrize(
    ("loads", "ready", "booting", "want"),
    [
        ([900, 900, 900], 10, 0, 12),  # 90 % for 3 periods: out by 2
        ([900, 700, 900], 10, 0, 10),  # not 3 consecutive
        ([200, 200, 200], 10, 0, 9),  # 20 % for 3 periods: in by 1
        ([500, 500, 500], 10, 0, 10),  # inside the band
        ([900, 900], 10, 0, 10),  # too few samples: hold
        ([900, np.nan, 900], 10, 0, 10),  # a gap: hold
        (
            [900, 900, 900],
            8,
            2,
            12,
        ),  # utilisation is over ready capacity (112 %), counts include booting
        ([50, 50, 50], 0, 3, 5),  # nothing ready yet, load arriving: out
    ],
)
def test_threshold(loads: list[float], ready: int, booting: int, want: int) -> None:
    d = ThresholdPolicy(upper=0.8, lower=0.3, periods=3, step_out=2, step_in=1).decide(
        ctx(loads, ready, booting)
    )
    assert d.desired == want
    assert d.policy == "threshold"


@pytest.mark.parametrize(
    ("loads", "ready", "want"),
    [
        ([700] * 6, 10, 10),  # exactly on target
        ([750] * 6, 10, 10),  # 7 % over: inside the 10 % tolerance
        ([1400] * 6, 10, 20),  # double: ceil(1400 / 70)
        ([7000] * 6, 10, 20),  # wants 100, rate-limited to max(10 + 4, 2 x 10)
        ([700, 700, 700, 700, 700, 350], 10, 10),  # a dip: stabilisation keeps the 5-minute peak
        ([350] * 6, 10, 5),  # sustained halving: down to 5
        ([0] * 6, 4, 0),  # no load: the engine's min_size guard keeps the floor
        ([np.nan] * 6, 4, 4),  # no sample: hold
    ],
)
def test_target(loads: list[float], ready: int, want: int) -> None:
    d = TargetPolicy(target=0.7).decide(ctx(loads, ready))
    assert d.desired == want, d.reason


def test_target_scale_down_rate_limit() -> None:
    d = TargetPolicy(target=0.7, max_down_pct=50).decide(ctx([70] * 6, 10))
    assert d.desired == 5


@pytest.mark.parametrize(
    ("required", "boot", "plan"),
    [
        ([1, 2, 3, 2, 1], 0, [1, 2, 3, 2, 1]),
        ([1, 2, 3, 2, 1], 1, [2, 3, 3, 2, 1]),
        ([1, 0, 0, 4, 0, 0, 0], 2, [1, 4, 4, 4, 0, 0, 0]),
        ([5], 3, [5]),
    ],
)
def test_oracle_plan(required: list[int], boot: int, plan: list[int]) -> None:
    assert oracle_plan(np.array(required), boot).tolist() == plan


def test_oracle_policy_reads_its_plan_by_time() -> None:
    start = NOW - timedelta(minutes=2)
    p = OraclePolicy(np.array([3, 4, 7, 1]), start, timedelta(minutes=1))
    assert p.decide(ctx([1.0], 3)).desired == 7
    late = OraclePolicy(np.array([3]), start, timedelta(minutes=1))
    assert late.decide(ctx([1.0], 3)).desired == 3  # past the known future: hold
