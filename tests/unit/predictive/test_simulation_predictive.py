"""The predictive policies through the real engine and simulated cloud."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import yaml

from autoscaler.config import GroupConfig, parse_config
from autoscaler.engine import Engine, GroupBinding
from autoscaler.memory_store import MemoryStateStore
from autoscaler.registry import build_forecast_provider, build_policy
from autoscaler.simulation import DEFAULT_POLICIES, build_scenario, decision_horizon, simulate
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud
from autoscaler.simulator.source import TraceSource
from autoscaler.traces import Trace, load_trace


@pytest.fixture(scope="module")
def nasa_day() -> Trace:
    full = load_trace(None)
    return Trace(
        "nasa-day",
        full.series.iloc[: 24 * 60],
        full.step,
        (),
        None,
        full.column,
        (),
    )


def test_all_policies_side_by_side(nasa_day: Trace) -> None:
    scn = build_scenario(nasa_day, boot_delay=timedelta(minutes=10))
    result = simulate(scn)
    policies = result.summary()["policies"]
    assert list(policies) == list(DEFAULT_POLICIES)
    assert set(DEFAULT_POLICIES) >= {"predictive_threshold", "predictive_target", "qos"}
    oracle_hours = policies["oracle"]["instance_hours"]
    for name, row in policies.items():
        assert row["instance_hours_vs_oracle"] == pytest.approx(
            row["instance_hours"] / oracle_hours, abs=1e-4
        )
        # a real run: the fleet moved and was billed
        assert row["scaling_actions"] > 0, name
    # with a 10-minute boot, reacting to the load is late; the SLO policy plans ahead and
    # stays near its 1 % violation budget (one day is too short to compare it with the
    # threshold policy's similar rate: bench/policy_quality.py does that on long traces)
    assert policies["qos"]["slo_violation_pct"] < policies["target"]["slo_violation_pct"] / 2
    assert policies["qos"]["slo_violation_pct"] <= 2.0


def test_combined_policies_keep_the_safest_vote(nasa_day: Trace) -> None:
    text = """groups:
  - name: web
    max_size: 40
    policies:
      - kind: target
      - kind: schedule
        entries:
          - {cron: "* 10-11 * * *", min: 30}
"""
    cfg = parse_config(yaml.safe_load(text), "c.yaml", text)
    scn = build_scenario(nasa_day, cfg, boot_delay=timedelta(minutes=2))
    result = simulate(scn, ["target", "target+schedule"])
    hours = nasa_day.series.index.hour
    # from 10:05 (boot delay and cooldown passed) to the end of 11:59, at least 30 serve
    window = (hours >= 10) & (hours < 12) & ~((hours == 10) & (nasa_day.series.index.minute < 5))
    combined = result.runs["target+schedule"].ready
    assert (combined[window] >= 30).all()
    assert (result.runs["target"].ready[window] < 30).all()
    # outside the schedule both follow the load alike
    assert (combined[hours < 10] == result.runs["target"].ready[hours < 10]).all()


def test_advisor_mode_decides_and_exports_but_never_acts(nasa_day: Trace) -> None:
    group = GroupConfig(name="web", max_size=40, mode="advisor")
    spec = group.spec()
    assert spec.dry_run
    load = nasa_day.values * 10.0
    start = nasa_day.series.index[0].to_pydatetime()
    cloud = SimCloud(BootDelay(median=timedelta(minutes=2)))
    cloud.create_group("web", 1, start)
    source = TraceSource(load, start, nasa_day.step)
    policy = build_policy(group.policies[0].model_copy(), group)
    qos = build_policy(yaml_policy("qos"), group)
    binding = GroupBinding(
        spec,
        [policy, qos],
        source,
        cloud,
        forecaster=build_forecast_provider(group.forecaster),
    )
    store = MemoryStateStore(keep_audit=True)
    engine = Engine([binding], store)
    for i in range(1, 120):
        now = start + i * nasa_day.step
        cloud.advance(now)
        engine.tick(now)
    assert cloud.counts("web") == (1, 0)
    assert cloud.actions == 0
    wanted = [o for o in store.audit if o.desired is not None and o.desired > 1]
    assert wanted, "the advisor should have recommended scaling out"
    assert all("dry_run" in (o.guard or "") for o in wanted)
    assert all(o.action is None for o in store.audit)
    assert [o.error for o in store.audit if o.error] == []
    assert all(o.forecast is not None for o in store.audit[1:])
    assert {v.policy for v in wanted[0].votes} == {"target", "qos"}


def yaml_policy(kind: str):
    cfg = parse_config({"groups": [{"name": "g", "policies": [{"kind": kind}]}]})
    return cfg.groups[0].policies[0]


def test_forecaster_section_drives_the_provider(nasa_day: Trace) -> None:
    text = """groups:
  - name: web
    forecaster: {model: level, params: {alpha: 0.2}, retrain: 30m, train_window: 6h,
                 horizon: 20m, quantiles: [0.5, 0.95]}
    policies: [{kind: qos, quantile: 0.95}]
"""
    cfg = parse_config(yaml.safe_load(text), "c.yaml", text)
    provider = build_forecast_provider(cfg.groups[0].forecaster)
    assert (provider.retrain, provider.train_window) == (
        timedelta(minutes=30),
        timedelta(hours=6),
    )
    scn = build_scenario(nasa_day, cfg)
    run = simulate(scn, ["qos"]).runs["qos"]
    assert np.isfinite(run.score.instance_hours) and run.actions > 0


@pytest.mark.parametrize(
    ("forecaster", "message"),
    [
        ({"quantiles": [0.5, 1.5]}, "quantiles must lie strictly between 0 and 1"),
        ({"retrain": "0s"}, "retrain: must be positive"),
        ({"horizon": "soon"}, "horizon"),
        ({"model": "crystal_ball"}, "unknown forecast model 'crystal_ball'"),
        # parameters the model rejects: these passed the load and made every refit
        # fall back to seasonal naive without a word
        ({"model": "ets", "params": {"bogus": 1}}, r"forecaster.params: .*unknown parameter"),
        ({"model": "level", "params": {"alpha": 5}}, r"forecaster.params: .*alpha must be in"),
        ({"model": "auto", "params": {"top": 0}}, "auto: top must be a whole number >= 1"),
        ({"model": "auto", "params": {"split": "5h"}}, "split .* shorter than eval_horizon"),
        ({"model": "ets", "params": {"calibrated": "maybe"}}, "calibrated must be true, fal"),
        ({"model": "ets", "params": {"fallback": False}}, "fallback is not a parameter"),
        ({"model": "auto", "params": {"build": "x"}}, r"unknown parameter\(s\) build"),
        ({"model": "ets", "params": {"conformal": {"x": 1}}}, "conformal: .*'x'"),
    ],
)
def test_forecaster_section_errors(forecaster: dict, message: str) -> None:
    from autoscaler.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_config({"groups": [{"name": "g", "forecaster": forecaster}]})


def test_a_rejected_forecaster_parameter_names_its_line(tmp_path) -> None:
    from autoscaler.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text(
        "groups:\n  - name: g\n    forecaster:\n      model: auto\n"
        "      params:\n        margin: 3\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == [
        f"{path}:5: groups[0].forecaster.params: auto: margin must lie between 0 and 0.5, not 3.0"
    ]
    path.write_text(path.read_text().replace("margin: 3", "margin: 0.1\n        memory: 24"))
    cfg = load_config(path)  # parameters the model accepts load as written
    assert cfg.groups[0].forecaster.params == {"margin": 0.1, "memory": 24}


def _decisions_with_horizon(trace: Trace, horizon: timedelta, boot: timedelta) -> list[tuple]:
    """qos and predictive_target through the engine on ``trace``, the forecaster looking
    ``horizon`` ahead: each tick's votes and the forecast's length."""
    group = GroupConfig(name="web", max_size=40, boot_delay={"median": boot})
    group = group.model_copy(
        update={"forecaster": group.forecaster.model_copy(update={"horizon": horizon})}
    )
    spec = group.spec()
    start = trace.series.index[0].to_pydatetime()
    cloud = SimCloud(BootDelay(median=boot))
    cloud.create_group("web", 2, start)
    voters = [build_policy(yaml_policy(k), group) for k in ("qos", "predictive_target")]
    provider = build_forecast_provider(group.forecaster)
    source = TraceSource(trace.values * 5.0, start, trace.step)
    binding = GroupBinding(spec, voters, source, cloud, forecaster=provider)
    engine = Engine([binding], MemoryStateStore())
    out = []
    for i in range(1, len(trace)):
        now = start + i * trace.step
        cloud.advance(now)
        (o,) = engine.tick(now)
        out.append(([(v.desired, v.reason) for v in o.votes], len(o.forecast or ())))
    return out


def _five_minute(trace: Trace) -> Trace:
    s = trace.series.resample("5min").mean()
    return Trace("nasa-day-5m", s, timedelta(minutes=5), (), None, trace.column, ())


@pytest.mark.parametrize(("minutes", "boot", "short"), [(1, 10, 12), (5, 2, 3), (5, 10, 4)])
def test_the_simulators_short_horizon_changes_no_decision(
    nasa_day: Trace, minutes: int, boot: int, short: int
) -> None:
    # The simulator forecasts boot delay + two cadences ahead (the daemon 30 minutes):
    # every vote is the same, the forecasts only shorter. With 5-minute samples the
    # cadence is the sample (a decision covers boot delay + 5 minutes), not the interval.
    trace = nasa_day if minutes == 1 else _five_minute(nasa_day)
    group = GroupConfig(name="web", boot_delay={"median": timedelta(minutes=boot)})
    cut = decision_horizon(group, group.spec(), trace.step).forecaster.horizon
    assert round(cut / trace.step) <= short <= -(-cut // trace.step)
    full = _decisions_with_horizon(trace, timedelta(minutes=30), timedelta(minutes=boot))
    shorter = _decisions_with_horizon(trace, cut, timedelta(minutes=boot))
    assert [v for v, _ in full] == [v for v, _ in shorter]
    assert {n for _, n in full[1:]} == {30 // minutes}
    assert {n for _, n in shorter[1:]} == {short}
