"""Session fixtures for the adapter integration tests: a real Prometheus with real traces,
a real Keystone whose catalog points at fake Nova/Heat/Senlin/Monasca endpoints, and a
real Placement service behind that Keystone where the fake Nova keeps its allocations."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from autoscaler.adapters.openstack_connection import connect
from autoscaler.traces import load_trace
from tests.fakes.keystone_server import KeystoneProcess, keystone_available
from tests.fakes.openstack_fake import FakeOpenStack
from tests.fakes.placement_client import PlacementClient
from tests.fakes.placement_server import PlacementProcess, placement_available
from tests.fakes.prometheus_server import PrometheusProcess, Series, backfill

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
NASA = DATA / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
NAB = DATA / "nab" / "realAWSCloudwatch"
NASA_DAYS = 12  # 17,280 one-minute points: more than one query_range call can return


@dataclass(frozen=True)
class BackfilledPrometheus:
    """The running server and what was loaded into it (shifted to end near now)."""

    server: PrometheusProcess
    data_dir: Path
    nasa: pd.Series  # requests per minute, index shifted to recent UTC times
    cpu: dict[str, pd.Series]  # instance label -> series

    @property
    def url(self) -> str:
        return self.server.url


@functools.cache
def real_trace(path: Path) -> pd.Series:
    """A real trace read by the project's own loader (the NASA outage filled with zeros;
    the slices used here lie before it)."""
    return load_trace(path, fill="zero").series


def _shift(series: pd.Series, end: datetime) -> pd.Series:
    return pd.Series(series.to_numpy(), index=series.index + (end - series.index[-1]))


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackfilledPrometheus]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("Debian's prometheus package is not installed (make system-deps installs it)")
    if not NASA.exists():
        pytest.skip(f"real trace missing: {NASA}")
    work = tmp_path_factory.mktemp("prometheus")
    # Prometheus drops blocks older than its retention counted from now, and old traces
    # are decades old: move them to end a few minutes ago.
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    full = real_trace(NASA)
    nasa = _shift(full[full.index < full.index[0] + timedelta(days=NASA_DAYS)], end)
    cpu = {
        name: _shift(real_trace(NAB / f"ec2_cpu_utilization_{name}.csv"), end)
        for name in ("5f5533", "825cc2")
    }
    bad_index = pd.date_range(end - timedelta(minutes=9), end, freq="1min")
    bad = pd.Series([1.0, 2, 3, 4, float("nan"), 6, 7, float("inf"), 9, 10], index=bad_index)

    def as_series(name: str, labels: dict[str, str], s: pd.Series) -> Series:
        stamps = [t.timestamp() for t in s.index]
        return Series(name, labels, stamps, s.to_numpy(dtype=float).tolist())

    data_dir = work / "data"
    backfill(
        [as_series("nasa_http_requests", {"job": "nasa"}, nasa)]
        + [as_series("ec2_cpu_utilization", {"instance": k}, v) for k, v in cpu.items()]
        + [as_series("flaky_gauge", {}, bad)],
        data_dir,
        work,
    )
    server = PrometheusProcess(data_dir, work)
    try:
        yield BackfilledPrometheus(server, data_dir, nasa, cpu)
    finally:
        server.stop()


# ---------------------------------------------------------------- Keystone + fake services


@dataclass(frozen=True)
class OpenStackCloud:
    """Real Keystone whose catalog points at the fake services, and a clouds.yaml for it."""

    keystone: KeystoneProcess
    fake: FakeOpenStack
    clouds_yaml: Path
    shared: Any  # one authenticated connection reused by most tests (saves a token each)
    name: str = "test"

    def connect(self, name: str | None = None) -> Any:
        return connect(name or self.name, str(self.clouds_yaml))


@pytest.fixture(scope="session")
def openstack_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenStackCloud]:
    why = keystone_available()
    if why is not None:
        pytest.skip(f"real Keystone unavailable: {why}")
    work = tmp_path_factory.mktemp("keystone")
    keystone = KeystoneProcess(work)
    fake = FakeOpenStack(keystone.validate)
    try:
        keystone.register(fake.catalog())
        clouds = keystone.clouds_yaml(work / "clouds.yaml")
        yield OpenStackCloud(keystone, fake, clouds, connect("test", str(clouds)))
    finally:
        fake.close()
        keystone.stop()


@pytest.fixture
def cloud(openstack_session: OpenStackCloud) -> OpenStackCloud:
    """The session's cloud, emptied of servers, stacks, clusters, metrics and faults."""
    openstack_session.fake.reset()
    return openstack_session


# ---------------------------------------------------------------- real Placement

MEMBER_USER = "tenant"  # a project user with only the member role (clouds.yaml: test-tenant)


@dataclass(frozen=True)
class PlacementCloud:
    """The session's cloud with a real Placement service behind its Keystone."""

    cloud: OpenStackCloud
    placement: PlacementProcess

    @property
    def fake(self) -> FakeOpenStack:
        return self.cloud.fake

    def connect(self, name: str = "test") -> Any:
        """A fresh connection (its catalog lists Placement, added after the shared one)."""
        return self.cloud.connect(name)


@pytest.fixture(scope="session")
def placement_session(
    openstack_session: OpenStackCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlacementCloud]:
    why = placement_available()
    if why is not None:
        pytest.skip(f"real Placement unavailable: {why}")
    keystone = openstack_session.keystone
    work = tmp_path_factory.mktemp("placement")
    server = PlacementProcess(work, keystone)
    keystone.add_member(MEMBER_USER, "tenant-secret-for-tests", "tenant-project")
    keystone.clouds_yaml(openstack_session.clouds_yaml)
    try:
        yield PlacementCloud(openstack_session, server)
    finally:
        server.stop()


@pytest.fixture
def placement_cloud(placement_session: PlacementCloud) -> Iterator[PlacementCloud]:
    """An empty cloud whose fake Nova schedules through the real Placement; after the
    test its hosts and allocations are removed and Nova stops using Placement."""
    fake = placement_session.fake
    fake.reset()
    fake.placement = PlacementClient(
        placement_session.placement.url, placement_session.cloud.keystone.issue_token
    )
    try:
        yield placement_session
    finally:
        fake.reset()
        fake.placement = None
