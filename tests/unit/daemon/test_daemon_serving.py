"""The daemon on the serving scenario: the same file as ``simulate``, the same decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.config import Config, ServingConfig, load_config
from autoscaler.daemon.serving_world import ServingWorld
from autoscaler.daemon.world import WorldError, load_world
from autoscaler.serving_simulation import build_serving_scenario, run_serving_policy
from autoscaler.simulator.serving.requests import load_latencies, load_requests

REPO = Path(__file__).resolve().parents[3]


def _config(policy: str = "kpa", **serving: object) -> Config:
    cfg = load_config(REPO / "etc" / "genai-serving.yaml")
    settings = {
        **cfg.serving.model_dump(mode="json"),
        "start_day": 4,
        "days": 1,
        "arrival_speedup": 20,
        **serving,
    }
    # the daemon runs the group's policies together; simulate runs "a+b" together too
    kinds = policy.split("+")
    chosen = [p for k in kinds for p in cfg.groups[0].policies if p.kind == k]
    group = cfg.groups[0].model_copy(update={"policies": chosen})
    return cfg.model_copy(
        update={"serving": ServingConfig.model_validate(settings), "groups": [group]}
    )


class _Monotonic:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("policy", "serving"),
    [
        ("kpa", {}),
        ("predictive_target", {}),
        # qos reads the arrival rate (and plans with its own spec) in both
        ("qos", {}),
        ("qos", {"rate_window": "30s"}),
        ("qos", {"qos_rate": "little"}),
        # and closes its loop on the measured wait in both
        ("qos", {"rate_window": "60s", "measured_latency": True}),
        # a group that mixes them reads concurrency, in both
        ("kpa+qos", {}),
    ],
)
def test_the_daemon_makes_the_decisions_simulate_makes(
    make_daemon, shared_data, policy: str, serving: dict
) -> None:
    cfg = _config(policy, idle_tick="2s", **serving)
    assert [p.kind for p in cfg.groups[0].policies] == policy.split("+")
    clock = _Monotonic()
    world = ServingWorld(cfg, speedup=1.0, monotonic=clock)
    assert isinstance(load_world(cfg), ServingWorld)
    daemon = make_daemon(cfg, world)
    horizon = 1800.0  # the first half hour of the replay, a tick every 2 s
    # from the end of the first request's bin, where simulate's first tick is (before
    # it the group is idle and simulate does not evaluate it: kpa would hold at zero,
    # qos would start its fit and its memory earlier)
    k = int(world.scenario.trace.arrival[0] // 2.0) + 1
    while k * 2.0 <= horizon:
        clock.t = k * 2.0
        daemon.evaluate("sd")
        k += 1
    d = shared_data / "alibaba-genai-v2026"
    scn = build_serving_scenario(
        cfg,
        load_requests(d / "lora_request_trace.csv"),
        load_latencies(d / "basemodel_update_latency_anon.csv"),
    )
    sim = run_serving_policy(scn, policy).cluster
    ours = [e for e in world.cluster.replica_log if e[0] <= horizon]
    theirs = [e for e in sim.replica_log if e[0] <= horizon]
    assert len(ours) > 5  # it scaled, up and down
    assert ours == theirs
    started = world.cluster.started
    served = started <= horizon
    assert served.sum() > 100
    assert list(started[served]) == list(sim.started[served])


def test_the_daemon_refuses_layouts_it_cannot_run(shared_data) -> None:
    with pytest.raises(WorldError, match="only the pooled layout"):
        ServingWorld(_config(layout="hybrid"))
