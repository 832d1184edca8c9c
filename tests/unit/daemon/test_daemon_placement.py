"""The daemon on a simulated cloud with hosts: groups placed by their placement policy
through the engine (as in the simulator), placements in the journal, the audit records and
``explain``; the config error for clouds that cannot place; old journals still open."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from daemon_fakes import ControlledSource, ManualClock, group

from autoscaler.cli import cli
from autoscaler.commands.explain import _explain
from autoscaler.config import ConfigError, GroupConfig, load_config, parse_config
from autoscaler.daemon.groups import build_group
from autoscaler.daemon.state import SqliteStateStore
from autoscaler.daemon.world import SimulatedWorld, WorldError
from autoscaler.memory_store import MemoryStateStore
from autoscaler.model import Placement, ScaleAction
from autoscaler.placement.hosts import Flavor, Host
from autoscaler.simulator.boot import BootDelay
from autoscaler.simulator.cloud import SimCloud

HOSTS = ("cmp-1", "cmp-2", "cmp-3")


def tick(d, name: str) -> dict:
    d.world.clock.advance(timedelta(minutes=1))
    d.evaluate(name)
    return d.groups[name].last


class ManualTime:
    """A monotonic clock for ``SimulatedWorld``: moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def ramp_trace(path: Path) -> Path:
    """Four hours a minute apart: flat, a two-hour climb to ten times the load, flat."""
    load = np.concatenate([np.full(60, 100.0), np.linspace(100, 1000, 120), np.full(60, 1000.0)])
    index = pd.date_range("2026-01-05", periods=len(load), freq="1min", tz="UTC")
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": load})
    frame.to_csv(path, index=False)
    return path


def hosted(trace: Path, **extra: object) -> dict:
    """Two groups of 2-vCPU instances on three 8-vCPU hosts without overcommit: the hosts
    hold 12 instances, the groups want up to 16 together at the peak."""
    group = {
        "flavor": "m1.medium",
        "min_size": 2,
        "max_size": 8,
        "cooldown_up": "0s",
        "cooldown_down": "0s",
        "boot_delay": "1m",
        "policies": [{"kind": "target", "target": 0.7, "stabilization_down": "0s"}],
    }
    return {
        "flavors": {"m1.medium": {"vcpus": 2, "ram_mb": 4096}},
        "simulation": {"trace": str(trace), "peak_instances": 8, "seed": 3},
        "daemon": {"speedup": 60},
        "hosts": [{"count": 3, "zones": ["az1", "az2"], "vcpus": 8, "cpu_allocation_ratio": 1.0}],
        "groups": [
            {"name": "api", "placement": "pack", **group},
            {"name": "web", "placement": "interference_aware", **group},
        ],
        **extra,
    }


def test_simulated_world_puts_the_first_instances_where_the_policy_says(tmp_path: Path) -> None:
    cfg = parse_config(hosted(ramp_trace(tmp_path / "ramp.csv")))
    world = SimulatedWorld(cfg, monotonic=ManualTime())
    cloud = world.cloud_for(cfg.groups[0])
    assert {"placement", "host_views"} <= cloud.capabilities
    views = {v.host.name: v for v in cloud.host_views()}
    # the group starts at its minimum of 2 (the oracle's first plan needs fewer: 80/s on
    # 100/s instances); pack puts both on the first host, each taking its flavor's 2 vCPUs
    assert views["cmp-1"].groups == ("api", "api") and views["cmp-1"].vcpus_used == 4
    assert views["cmp-2"].vms == () and views["cmp-3"].vms == ()
    world.cloud_for(cfg.groups[1])
    # the second group's instances take room on the same hosts, next to the first's
    views = cloud.host_views()
    assert sum(v.vcpus_used for v in views) == 8
    assert sorted(g for v in views for g in v.groups) == ["api", "api", "web", "web"]


def test_simulated_world_refuses_a_group_the_hosts_cannot_hold(tmp_path: Path) -> None:
    raw = hosted(ramp_trace(tmp_path / "ramp.csv"))
    raw["hosts"] = [{"count": 1, "vcpus": 6, "cpu_allocation_ratio": 1.0}]
    cfg = parse_config(raw)
    world = SimulatedWorld(cfg, monotonic=ManualTime())
    world.cloud_for(cfg.groups[0])
    with pytest.raises(WorldError, match=r"^the hosts cannot hold group web's 2 initial"):
        world.cloud_for(cfg.groups[1])


def test_daemon_places_within_host_capacity_and_journals_placements(
    make_daemon, tmp_path: Path
) -> None:
    cfg = parse_config(hosted(ramp_trace(tmp_path / "ramp.csv")))
    time = ManualTime()
    world = SimulatedWorld(cfg, monotonic=time)
    d = make_daemon(cfg, world)
    # one shared map of recent loads: each group's placement sees the other's load
    assert d.groups["api"].engine.recent is d.groups["web"].engine.recent
    cloud = d.groups["api"].cloud.cloud
    peak_vcpus = 0
    for _ in range(150):  # 150 simulated minutes: the climb and the plateau
        time.t += 1.0
        for name in ("api", "web"):
            d.evaluate(name)
        views = cloud.host_views()
        for v in views:
            assert v.vcpus_used <= v.host.vcpus  # never beyond a host's capacity
        peak_vcpus = max(peak_vcpus, sum(v.vcpus_used for v in views))
    assert peak_vcpus == 24  # the hosts filled up: the groups wanted more than fits
    assert d.recent.groups() == {"api", "web"}

    db = sqlite3.connect(d.store.path)
    rows = db.execute(
        "SELECT grp, current, target, placements FROM actions WHERE target > current"
    ).fetchall()
    assert {r[0] for r in rows} == {"api", "web"}
    placed_hosts = set()
    for _grp, current, target, placements in rows:
        wanted = json.loads(placements)
        assert len(wanted) == target - current
        for p in wanted:
            # a placement names a host of the config, or none when no host had room left
            assert p == {"host": None, "zone": None} or p["host"] in HOSTS
            placed_hosts.add(p["host"])
    # the initial 4 instances filled cmp-1; then cmp-2 and cmp-3, then no host had room
    assert placed_hosts == {"cmp-2", "cmp-3", None}
    first_api = next(r for r in rows if r[0] == "api")
    assert json.loads(first_api[3]) == [{"host": "cmp-2", "zone": "az2"}]

    # the audit record (what the HTTP API serves) and explain show the same placements
    audited = [r for r in d.store.audited_actions("api") if r["action"]["direction"] == "up"]
    assert audited[0]["action"]["placements"] == json.loads(first_api[3])
    text = _explain(audited[0])
    assert "  placed on: cmp-2 (az2)" in text
    unplaced = next(r for r in audited if {"host": None, "zone": None} in r["action"]["placements"])
    assert "  placed on: no host had room" in _explain(unplaced)
    assert "failed boots" in _explain(audited[-1])  # boots no host could take failed


class TwoGroupsOnHosts:
    """A world of two hosts: ``batch`` (4 busy 2-vCPU instances) and one light ``web``
    instance share cmp-1; cmp-2 is empty. Its clock moves when the test says so."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        hosts = [Host(f"cmp-{k}", "az1", 8, 32768, 0, 4.0, 1.0) for k in (1, 2)]
        self.cloud = SimCloud(BootDelay("fixed", timedelta(0)), hosts=hosts)
        here = [Placement("cmp-1", "az1")] * 4
        now = self.clock.now()
        self.cloud.create_group("batch", 4, now, Flavor("m1.medium", 2, 4096), here)
        self.cloud.create_group("web", 1, now, Flavor("m1.small", 1, 2048), here[:1])
        # batch runs its instances flat out; web's one instance at 60 % of its capacity
        self.sources = {"batch": ControlledSource(400.0), "web": ControlledSource(600.0)}

    def cloud_for(self, group: GroupConfig) -> SimCloud:
        return self.cloud

    def source_for(self, group: GroupConfig) -> ControlledSource:
        return self.sources[group.name]

    def tick_time(self, group: str, interval: timedelta) -> datetime:
        return self.clock.now()

    def advance(self, now: datetime, group: str | None = None) -> None:
        self.cloud.advance(now)


def test_interference_aware_sees_the_other_groups_load_on_a_host(make_daemon) -> None:
    raw = {
        "flavors": {"m1.small": {"vcpus": 1}, "m1.medium": {"vcpus": 2, "ram_mb": 4096}},
        "hosts": [{"count": 2, "vcpus": 8}],
        "groups": [
            group("batch", flavor="m1.medium", min_size=4, max_size=4),
            group(
                "web", flavor="m1.small", capacity_per_instance=1000, placement="interference_aware"
            ),
        ],
    }
    world = TwoGroupsOnHosts()
    d = make_daemon(parse_config(raw), world)
    tick(d, "batch")
    web = tick(d, "web")
    # cmp-1 holds batch's 8 busy vCPUs: web's new instance goes to the empty host
    assert web["action"]["placements"] == [{"host": "cmp-2", "zone": "az1"}]

    # the same engines without the shared map: web sees only its own light load on cmp-1
    # and packs its new instance next to batch's, into the contention
    alone = TwoGroupsOnHosts()
    cfg = parse_config(raw)
    engines = {}
    for g in cfg.groups:
        rt = build_group(g, alone, MemoryStateStore(), config=cfg, source_timeout=None)
        engines[g.name] = rt.engine
    now = alone.clock.now() + timedelta(minutes=1)
    engines["batch"].tick(now)
    (outcome,) = engines["web"].tick(now)
    assert outcome.action is not None
    assert outcome.action.placements == (Placement("cmp-1", "az1"),)


class NoScheduler:
    """Stands in for apscheduler in a reload: the test calls ``evaluate`` itself."""

    def add_job(self, *args: object, **kwargs: object) -> None:
        return None

    def get_job(self, job_id: str) -> None:
        return None


def test_reload_changes_placement_but_keeps_the_hosts(make_daemon, tmp_path: Path) -> None:
    raw = hosted(ramp_trace(tmp_path / "ramp.csv"))
    path = tmp_path / "cfg.yaml"
    world = SimulatedWorld(parse_config(raw), monotonic=ManualTime())
    d = make_daemon(parse_config(raw), world, config_path=path)
    d._scheduler = NoScheduler()
    raw["hosts"][0]["count"] = 5
    raw["groups"][0]["placement"] = "spread"
    path.write_text(yaml.safe_dump(raw))
    d.reload()
    assert "hosts settings change only on restart" in d.log.stream.getvalue()
    assert d.config.hosts[0].count == 3
    assert d.groups["api"].binding.placement.name == "spread"
    assert d.groups["web"].binding.placement.name == "interference_aware"
    # the rebuilt group's engine still shares the loads map with the others
    assert d.groups["api"].engine.recent is d.recent is d.groups["web"].engine.recent


def test_reissued_action_keeps_its_placements(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    t = pd.Timestamp("2026-01-05T12:00:00Z").to_pydatetime()
    action = ScaleAction(
        "web", "web-1", t, 2, 4, "up", (), (Placement("cmp-2", "az2"), Placement())
    )
    store.begin_action(action)
    store.close()
    (again,) = SqliteStateStore(tmp_path / "state.db").unfinished_actions()
    assert again == action


# A state database as the daemon wrote it before placements were journalled (version 1).
_V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE actions (
    action_id TEXT PRIMARY KEY, grp TEXT NOT NULL, created_at TEXT NOT NULL,
    current INTEGER NOT NULL, target INTEGER NOT NULL, reason TEXT NOT NULL,
    victims TEXT NOT NULL, outcome TEXT
);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO actions VALUES ('web-old', 'web', '2026-01-05T11:00:00Z', 3, 1, 'down',
    '["web-2", "web-3"]', NULL);
"""


def test_a_version_1_database_opens_and_gains_placements(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.executescript(_V1_SCHEMA)
    old.close()
    store = SqliteStateStore(path)
    (pending,) = store.unfinished_actions()
    assert pending.action_id == "web-old" and pending.victims == ("web-2", "web-3")
    assert pending.placements == ()
    t = pd.Timestamp("2026-01-05T12:00:00Z").to_pydatetime()
    store.begin_action(ScaleAction("web", "web-new", t, 1, 2, "up", (), (Placement("h", "z"),)))
    assert [a.placements for a in store.unfinished_actions()] == [(), (Placement("h", "z"),)]
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    SqliteStateStore(path).close()  # and it opens again once migrated


@pytest.mark.parametrize(
    ("cloud", "why"),
    [
        ({"kind": "heat", "heat": {"web": {"stack": "web"}}}, "a Heat AutoScalingGroup creates"),
        ({"kind": "senlin", "senlin": {"web": {"cluster": "c"}}}, "a Senlin cluster creates"),
    ],
)
def test_placement_on_a_cloud_that_cannot_place_is_a_config_error(
    tmp_path: Path, cloud: dict, why: str
) -> None:
    raw = {
        "cloud": cloud,
        "hosts": [{"count": 2}],
        "groups": [{"name": "web", "placement": "spread"}],
    }
    path = tmp_path / "cloud.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    line = path.read_text().splitlines().index("  placement: spread") + 1
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (message,) = err.value.errors
    assert message.startswith(
        f"{path}:{line}: groups[0].placement: placement spread needs cloud.kind simulated or "
        f"nova: {why}"
    )
    res = CliRunner().invoke(cli, ["check-config", str(path)])
    assert res.exit_code == 2 and res.output.strip() == f"error: {message}"
    del raw["groups"][0]["placement"]  # without a placement policy the cloud is fine
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert load_config(path).cloud.kind == cloud["kind"]


def test_a_nova_group_may_have_a_placement_without_a_hosts_section(tmp_path: Path) -> None:
    """Nova's hosts come from Placement; the start-up error for credentials that cannot
    read it points at the option's line."""
    from autoscaler.daemon.main import _at_option

    raw = {
        "cloud": {"kind": "nova", "nova": {"image": "img", "placement": "hosts"}},
        "groups": [{"name": "web", "placement": "interference_aware"}],
    }
    path = tmp_path / "nova.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    cfg = load_config(path)
    assert cfg.cloud.nova is not None and cfg.cloud.nova.placement == "hosts"
    line = path.read_text().splitlines().index("    placement: hosts") + 1
    message = "group web: cloud.nova.placement: hosts needs the admin role"
    assert _at_option(path, message) == f"{path}:{line}: {message}"
    assert _at_option(path, "group web: no option named here") == "group web: no option named here"
