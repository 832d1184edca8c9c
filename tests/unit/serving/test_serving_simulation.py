"""The serving scenario through the engine, on a day of the real trace sped up 20x."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autoscaler.config import Config, ServingConfig, load_config
from autoscaler.serving_simulation import (
    ServingScenario,
    build_serving_scenario,
    group_layout,
    simulate_serving,
)
from autoscaler.simulator.serving.requests import load_latencies, load_requests
from autoscaler.simulator.serving.warm_set import WarmSetPolicy

REPO = Path(__file__).resolve().parents[3]


def _config(**serving: object) -> Config:
    cfg = load_config(REPO / "etc" / "genai-serving.yaml")
    settings = {**cfg.serving.model_dump(mode="json"), "start_day": 4, "days": 1, **serving}
    return cfg.model_copy(update={"serving": ServingConfig.model_validate(settings)})


@pytest.fixture(scope="module")
def data(shared_data: Path) -> tuple:
    d = shared_data / "alibaba-genai-v2026"
    return (
        load_requests(d / "lora_request_trace.csv"),
        load_latencies(d / "basemodel_update_latency_anon.csv"),
    )


def _scenario(data, speedup: float = 20.0, seed: int = 7, **serving: object) -> ServingScenario:
    trace, latencies = data
    return build_serving_scenario(_config(**serving), trace, latencies, speedup=speedup, seed=seed)


def _strip(summary: dict) -> dict:
    """The summary less what depends on the wall clock or on how often idle groups tick."""
    for d in summary["policies"].values():
        for key in (
            "wall_seconds",
            "requests_per_wall_second",
            "cpu_seconds",
            "requests_per_cpu_second",
            "engine_ticks",
        ):
            d.pop(key, None)
    return summary


def test_the_real_trace_loads_whole(data) -> None:
    trace, latencies = data
    assert len(trace) == 26823 and len(trace.models) == 87
    assert np.count_nonzero(~trace.ok) == 26823 - 26392  # failed and pending kept
    assert np.all(np.diff(trace.arrival) >= 0)
    assert 20 < np.median(latencies) < 25 and latencies.max() < 80


def test_layouts(data) -> None:
    trace, _ = data
    names, of_model = group_layout(trace, "sd", "hybrid", 10)
    assert len(names) == 11 and names[-1] == "sd-pool"
    assert list(of_model[:10]) == list(range(10)) and set(of_model[10:]) == {10}
    assert len(group_layout(trace, "sd", "per_model", 10)[0]) == 87
    assert group_layout(trace, "sd", "pooled", 10)[0] == ("sd",)


def test_same_seed_same_summary_and_another_seed_differs(data) -> None:
    a = simulate_serving(_scenario(data, seed=7), ["kpa"]).summary()
    b = simulate_serving(_scenario(data, seed=7), ["kpa"]).summary()
    c = simulate_serving(_scenario(data, seed=8), ["kpa"]).summary()
    assert _strip(a) == _strip(b)
    assert _strip(a)["policies"] != _strip(c)["policies"]


def test_the_spare_setting_replays_the_same_and_holds_more_than_without(data) -> None:
    # the config's predictive_target (spare 1.5, react): deterministic, and its spare
    # replicas cost GPU-hours over the same setting without them
    a = simulate_serving(_scenario(data), ["predictive_target"]).summary()
    b = simulate_serving(_scenario(data), ["predictive_target"]).summary()
    assert _strip(a) == _strip(b)
    cfg = _config()
    group = cfg.groups[0]
    policies = [
        p.model_copy(update={"spare": 0.0}) if p.kind == "predictive_target" else p
        for p in group.policies
    ]
    lean_cfg = cfg.model_copy(update={"groups": [group.model_copy(update={"policies": policies})]})
    trace, latencies = data
    lean_scn = build_serving_scenario(lean_cfg, trace, latencies, speedup=20.0, seed=7)
    lean = simulate_serving(lean_scn, ["predictive_target"]).summary()
    spare, none = a["policies"]["predictive_target"], lean["policies"]["predictive_target"]
    assert spare["gpu_hours"] > none["gpu_hours"]
    assert spare["latency_seconds"]["p50"] <= none["latency_seconds"]["p50"]


def test_skipping_idle_ticks_changes_nothing_for_reactive_policies(data) -> None:
    sparse = simulate_serving(_scenario(data, idle_tick="10m"), ["kpa", "target"]).summary()
    dense = simulate_serving(_scenario(data, idle_tick="2s"), ["kpa", "target"])
    assert dense.runs["kpa"].ticks > sparse["policies"]["kpa"]["engine_ticks"]
    assert _strip(sparse)["policies"] == _strip(dense.summary())["policies"]


def test_every_request_is_served_and_measured(data) -> None:
    result = simulate_serving(_scenario(data), ["kpa", "oracle"])
    s = result.summary()
    for name, d in s["policies"].items():
        assert d["unserved"] == 0, name
        assert d["requests"] == s["trace"]["requests"]
        lat = d["latency_seconds"]
        assert 0 <= lat["p50"] <= lat["p95"] <= lat["p99"]
        assert d["cold_starts"] >= d["model_switches"] and d["cold_starts"] > 0
        assert d["gpu_hours"] > 0 and d["slo_goodput_per_gpu_hour"] > 0
    # the oracle knows the arrivals: fewer GPU-hours than the reactive rule, within the SLO
    oracle, kpa = s["policies"]["oracle"], s["policies"]["kpa"]
    assert oracle["gpu_hours"] < kpa["gpu_hours"]
    assert oracle["latency_seconds"]["p95"] <= 60.0


def test_groups_scale_to_zero_between_bursts_and_back(data) -> None:
    run = simulate_serving(_scenario(data, speedup=1.0), ["kpa"]).runs["kpa"]
    counts = np.asarray([n for _, n in run.cluster.replica_log])
    zeros = np.flatnonzero(counts == 0)
    assert len(zeros) > 2 and zeros[-1] == len(counts) - 1  # back to zero several times
    assert counts.max() > 0
    # cold starts: one per new replica and per switch; a cold start holds up at most
    # the one request its replica takes first
    g = run.cluster.groups
    assert sum(x.cold_starts for x in g) == sum(x.launched + x.switches for x in g)
    assert sum(x.launched for x in g) >= len(zeros) - 1
    assert 0 < np.count_nonzero(run.cluster.behind_cold) <= sum(x.cold_starts for x in g)


def test_the_configured_warm_set_reaches_the_cluster(data) -> None:
    warm = {"kind": "popular", "half_life": "2m", "switch_ratio": 3.0}
    scn = _scenario(data, warm_set=warm)
    assert scn.new_cluster().warm_set == WarmSetPolicy("popular", 120.0, 3.0)
    assert _scenario(data, warm_set={"kind": "lru"}).new_cluster().warm_set.kind == "lru"


def test_the_host_cache_from_the_config_draws_fast_loads_and_stays_deterministic(data) -> None:
    cache = {"models": 2, "hosts": 64}
    first = simulate_serving(_scenario(data, host_cache=cache), ["kpa"]).summary()
    again = simulate_serving(_scenario(data, host_cache=cache), ["kpa"]).summary()
    plain = simulate_serving(_scenario(data), ["kpa"]).summary()
    kpa = first["policies"]["kpa"]
    assert 0 < kpa["host_cache_loads"] < kpa["cold_starts"]
    assert plain["policies"]["kpa"]["host_cache_loads"] == 0
    assert _strip(first) == _strip(again)


def test_the_rate_settings_reach_qos_only(data) -> None:
    # qos reads the arrival rate: a trailing window or Little's law change its replay;
    # kpa reads the concurrency, which neither setting touches
    def run(**serving: object) -> dict:
        return _strip(simulate_serving(_scenario(data, **serving), ["kpa", "qos"]).summary())

    plain = run()
    for setting in ({"rate_window": "60s"}, {"qos_rate": "little"}):
        other = run(**setting)
        assert other["policies"]["kpa"] == plain["policies"]["kpa"], setting
        assert other["policies"]["qos"]["gpu_hours"] != plain["policies"]["qos"]["gpu_hours"]


def test_the_measured_latency_reaches_qos_only(data) -> None:
    # kpa never reads a latency: the same replay with the setting on. qos closes its fast
    # loop on it: on a trailing 60 s rate its inferred violations differ from the
    # measured ones, and so does its replay (the setting reaches qos only through them)
    def run(**serving: object) -> dict:
        return _strip(simulate_serving(_scenario(data, **serving), ["kpa", "qos"]).summary())

    plain, measured = run(rate_window="60s"), run(rate_window="60s", measured_latency=True)
    assert measured["policies"]["kpa"] == plain["policies"]["kpa"]
    assert measured["policies"]["qos"]["gpu_hours"] != plain["policies"]["qos"]["gpu_hours"]
