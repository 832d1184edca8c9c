"""The simulated cloud, the scoring and the simulation runner on real trace slices."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoscaler.config import parse_config
from autoscaler.model import GroupSpec, ScaleAction
from autoscaler.policies.oracle import oracle_plan
from autoscaler.simulation import ScenarioError, build_scenario, simulate
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud
from autoscaler.traces import Trace, load_trace

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def brute_force_min_cost(required: list[int], boot: int, initial: int, top: int) -> int:
    """Cheapest billed instance-steps over every fleet schedule that meets ``required``.

    Same rules as SimCloud: launches serve ``boot`` steps later; removals take the
    youngest first; every instance, booting or ready, is billed each step.
    """
    best = None
    for schedule in itertools.product(range(top + 1), repeat=len(required)):
        ready_at = [0] * initial  # step from which each instance serves
        cost, ok = 0, True
        for t, target in enumerate(schedule):
            while len(ready_at) < target:
                ready_at.append(t + boot)
            while len(ready_at) > target:
                ready_at.pop()  # youngest last
            if sum(1 for r in ready_at if r <= t) < required[t]:
                ok = False
                break
            cost += len(ready_at)
        if ok and (best is None or cost < best):
            best = cost
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("boot", [0, 1, 2])
def test_oracle_plan_is_the_true_minimum(seed: int, boot: int) -> None:
    rng = np.random.default_rng(seed)
    required = rng.integers(0, 4, size=6).tolist()
    plan = oracle_plan(np.array(required), boot)
    assert brute_force_min_cost(required, boot, int(plan[0]), 3) == int(plan.sum())


def test_sim_cloud_boots_fails_and_removes_booting_first() -> None:
    cloud = SimCloud(BootDelay("fixed", 2 * MIN), seed=1)
    spec = GroupSpec(name="g", min_size=0, max_size=10, capacity_per_instance=1.0)
    cloud.create_group("g", 2, T0)
    cloud.scale(ScaleAction("g", "a1", T0, 2, 5, "test"))
    assert cloud.counts("g") == (2, 3)
    cloud.scale(ScaleAction("g", "a1", T0, 2, 5, "replayed"))  # idempotent in the action id
    assert cloud.counts("g") == (2, 3)
    cloud.advance(T0 + MIN)
    assert cloud.counts("g") == (2, 3)
    cloud.advance(T0 + 2 * MIN)
    assert cloud.counts("g") == (5, 0)
    cloud.scale(ScaleAction("g", "a2", T0 + 2 * MIN, 5, 7, "test"))
    cloud.scale(ScaleAction("g", "a3", T0 + 2 * MIN, 7, 4, "test"))
    assert cloud.counts("g") == (4, 0)  # both booting went first, then the youngest ready
    assert [i.id for i in cloud.fleet(spec)] == ["g-1", "g-2", "g-3", "g-4"]
    failing = SimCloud(BootDelay("fixed", MIN), seed=3, failure_rate=0.5)
    failing.create_group("g", 0, T0)
    failing.scale(ScaleAction("g", "b", T0, 0, 40, "test"))
    failing.advance(T0 + MIN)
    ready, _ = failing.counts("g")
    assert 10 < ready < 30 and failing.status(spec).failed == 40 - ready


def test_random_boot_delays_stay_in_bounds() -> None:
    rng = np.random.default_rng(0)
    b = BootDelay(
        "lognormal", timedelta(minutes=2), timedelta(minutes=1), timedelta(minutes=5), 0.5
    )
    draws = [b.sample(rng).total_seconds() for _ in range(500)]
    assert min(draws) >= 60 and max(draws) <= 300
    assert 100 < float(np.median(draws)) < 140


@pytest.fixture(scope="module")
def nasa_day() -> Trace:
    t = load_trace(None)
    return Trace(t.name, t.series.iloc[: 24 * 60], t.step)


def test_determinism_same_seed_same_summary(nasa_day: Trace) -> None:
    cfg = parse_config(
        {
            "simulation": {"boot_failure_rate": 0.05},
            "groups": [
                {
                    "name": "web",
                    "max_size": 40,
                    "boot_delay": {"distribution": "lognormal", "median": "2m", "sigma": 0.3},
                }
            ],
        }
    )
    a = simulate(build_scenario(nasa_day, cfg, seed=7)).summary()
    b = simulate(build_scenario(nasa_day, cfg, seed=7)).summary()
    c = simulate(build_scenario(nasa_day, cfg, seed=8)).summary()

    def strip(s):
        return {
            k: {m: v for m, v in p.items() if m != "wall_seconds"} for k, p in s["policies"].items()
        }

    assert strip(a) == strip(b)
    assert strip(a) != strip(c)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (timedelta(0), r"--boot-delay 0s: median: a lognormal boot delay needs a positive"),
        (timedelta(minutes=10), r"--boot-delay 10m: median: 10m is not within 1m \.\. 5m"),
    ],
)
def test_boot_delay_override_is_checked_as_the_config_is(
    nasa_day: Trace, override: timedelta, message: str
) -> None:
    # Copied unchecked, 0s made every boot fail silently; 10m was clipped to high (5m).
    boot = {"distribution": "lognormal", "median": "2m", "low": "1m", "high": "5m"}
    cfg = parse_config({"groups": [{"name": "web", "boot_delay": boot}]})
    with pytest.raises(ScenarioError, match=message):
        build_scenario(nasa_day, cfg, boot_delay=override)
    scn = build_scenario(nasa_day, cfg, boot_delay=timedelta(minutes=3))
    assert scn.boot.median == timedelta(minutes=3)


@pytest.mark.parametrize("boot", ["2m", "10m"])
def test_oracle_is_never_beaten_at_zero_violations(nasa_day: Trace, boot: str) -> None:
    cfg = parse_config({"groups": [{"name": "web", "max_size": 40, "boot_delay": boot}]})
    res = simulate(build_scenario(nasa_day, cfg), ["threshold", "target", "oracle"])
    oracle = res.runs["oracle"].score
    assert oracle.slo_violation_pct == 0.0
    # The engine-driven oracle bills exactly its plan (floored at min_size = 1).
    plan = oracle_plan(res.required, int(timedelta(minutes=int(boot[:-1])) / MIN))
    assert oracle.instance_hours == pytest.approx(np.maximum(plan, 1).sum() / 60.0)
    for name in ("threshold", "target"):
        s = res.runs[name].score
        assert s.slo_violation_pct > 0 or s.instance_hours >= oracle.instance_hours
    # With generous headroom every step is met, at a higher cost than the oracle's.
    rich = parse_config(
        {"groups": [{"name": "web", "max_size": 60, "min_size": 40, "boot_delay": boot}]}
    )
    res2 = simulate(build_scenario(nasa_day, rich), ["target", "oracle"])
    assert res2.runs["target"].score.slo_violation_pct == 0.0
    assert res2.runs["target"].score.instance_hours >= res2.runs["oracle"].score.instance_hours


def test_scaling_of_the_trace(nasa_day: Trace) -> None:
    scn = build_scenario(nasa_day, peak_instances=10)
    assert scn.load.max() == pytest.approx(10 * scn.spec.capacity_per_instance)
    scn2 = build_scenario(nasa_day, scale=0.5)
    assert scn2.scale_factor == 0.5 and scn2.load.max() == pytest.approx(
        0.5 * nasa_day.values.max()
    )
    with pytest.raises(ScenarioError, match="either --scale or --peak-instances"):
        build_scenario(nasa_day, scale=1.0, peak_instances=3)
    zero = Trace("z", pd.Series(0.0, index=nasa_day.series.index[:5]), MIN)
    with pytest.raises(ScenarioError, match="all zero"):
        build_scenario(zero)


def test_overload_drops_and_violates(nasa_day: Trace) -> None:
    cfg = parse_config({"groups": [{"name": "web", "min_size": 1, "max_size": 5}]})
    res = simulate(build_scenario(nasa_day, cfg, peak_instances=20), ["target"])
    s = res.runs["target"].score
    assert s.dropped_requests > 0 and s.slo_violation_pct > 10
    assert s.p95_latency_ms == pytest.approx(10_000.0)  # overloaded steps charged the timeout


def test_real_nab_asg_trace_runs(shared_data: Path) -> None:
    t = load_trace(
        shared_data / "nab" / "realKnownCause" / "cpu_utilization_asg_misconfiguration.csv",
        resample=timedelta(minutes=5),
    )
    res = simulate(
        build_scenario(Trace(t.name, t.series.iloc[:2000], t.step)), ["target", "oracle"]
    )
    assert res.runs["oracle"].score.slo_violation_pct == 0.0
    assert res.summary()["policies"]["target"]["instance_hours_vs_oracle"] > 1.0


def test_simulate_refuses_a_run_whose_ticks_failed_in_the_engine(tmp_path: Path) -> None:
    # The engine keeps going when a tick raises; the simulation then scored a group that
    # never acted (a lognormal boot delay of 0s: every boot raised, exit 0).
    from dataclasses import replace

    from autoscaler.commands.simulate import engine_failures

    trace = tmp_path / "t.csv"
    rows = "".join(f"2024-01-01T00:{m:02d}:00Z,{10 + m % 7}\n" for m in range(30))
    trace.write_text("timestamp,value\n" + rows)
    scn = build_scenario(load_trace(trace), parse_config({"groups": [{"name": "web"}]}))
    good = simulate(scn, ["target"]).runs["target"].decisions
    assert engine_failures({"target": good}) is None
    broken = replace(scn, boot=BootDelay("lognormal", timedelta(0)))
    bad = simulate(broken, ["target"]).runs["target"].decisions
    message = engine_failures({"target": good, "qos": bad})
    assert message is not None and message.startswith("policy qos: ")
    assert "ticks failed in the engine (first at 2024-01-01T00:" in message
    assert "ValueError: math domain error" in message


@pytest.mark.parametrize(
    ("interval", "ok"), [("90s", False), ("150s", False), ("2m", True), ("30s", True)]
)
def test_an_interval_between_whole_steps_is_an_error(
    tmp_path: Path, interval: str, ok: bool
) -> None:
    # Ticks fall on trace steps: 90s and 150s were both evaluated every 2m, silently.
    trace = tmp_path / "t.csv"
    rows = "".join(f"2024-01-01T00:{m:02d}:00Z,{10 + m % 7}\n" for m in range(30))
    trace.write_text("timestamp,value\n" + rows)
    cfg = parse_config({"groups": [{"name": "web", "interval": interval}]})
    if ok:
        assert build_scenario(load_trace(trace), cfg).spec.interval == cfg.groups[0].interval
        return
    with pytest.raises(ScenarioError, match=rf"interval {interval} is not a whole number of 1m"):
        build_scenario(load_trace(trace), cfg)
