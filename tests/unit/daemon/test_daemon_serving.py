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


def _config(**serving: object) -> Config:
    cfg = load_config(REPO / "etc" / "genai-serving.yaml")
    settings = {
        **cfg.serving.model_dump(mode="json"),
        "start_day": 4,
        "days": 1,
        "arrival_speedup": 20,
        **serving,
    }
    # the daemon runs the group's policies together; here kpa alone, as simulate runs it
    group = cfg.groups[0].model_copy(update={"policies": [cfg.groups[0].policies[0]]})
    return cfg.model_copy(
        update={"serving": ServingConfig.model_validate(settings), "groups": [group]}
    )


class _Monotonic:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_daemon_makes_the_decisions_simulate_makes(make_daemon, shared_data) -> None:
    cfg = _config(idle_tick="2s")
    assert cfg.groups[0].policies[0].kind == "kpa"
    clock = _Monotonic()
    world = ServingWorld(cfg, speedup=1.0, monotonic=clock)
    assert isinstance(load_world(cfg), ServingWorld)
    daemon = make_daemon(cfg, world)
    horizon = 1800.0  # the first half hour of the replay, a tick every 2 s
    k = 0
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
    sim = run_serving_policy(scn, "kpa").cluster
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
