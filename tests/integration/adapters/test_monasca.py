"""MonascaSource and the forecast write-back through real Keystone against the fake Monasca."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.forecast_export import MonascaForecastPublisher
from autoscaler.adapters.monasca_source import MonascaQuery, MonascaSource
from autoscaler.adapters.openstack_connection import service_api
from autoscaler.model import CloudError, Forecast, SourceError
from tests.fakes.openstack_fake import Fault
from tests.integration.adapters.conftest import NASA, OpenStackCloud, real_trace

pytestmark = pytest.mark.integration
MIN = timedelta(minutes=1)
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def load(cloud: OpenStackCloud, name: str, series: pd.Series, **dims: str) -> None:
    for t, v in series.items():
        cloud.fake.measurements.append(
            {"name": name, "dimensions": dims, "timestamp": int(t.timestamp() * 1000), "value": v}
        )


def source(
    cloud: OpenStackCloud, slept: list[float] | None = None, **query: object
) -> MonascaSource:
    sleeps = slept if slept is not None else []
    return MonascaSource(
        service_api(cloud.shared, "monitoring"),
        MonascaQuery(**query),  # type: ignore[arg-type]
        backoff=Backoff(attempts=3, base=0.01, sleep=sleeps.append, rng=random.Random(0)),
    )


def trace(n: int) -> pd.Series:
    """The first ``n`` real NASA minutes, moved to a fixed date."""
    values = real_trace(NASA).iloc[:n].to_numpy(dtype=float)
    return pd.Series(values, index=pd.date_range(T0, periods=n, freq=MIN))


def test_statistics_and_measurements_return_the_trace(cloud: OpenStackCloud) -> None:
    nasa = trace(120)
    load(cloud, "http.requests", nasa, service="web", host="a")
    src = source(cloud, dimensions={"service": "web"})
    s = src.query("http.requests", nasa.index[0], nasa.index[-1], MIN)
    np.testing.assert_array_equal(s.to_numpy(), nasa.to_numpy())
    five = src.query("http.requests", nasa.index[0], nasa.index[-1], 5 * MIN)
    np.testing.assert_allclose(five.to_numpy(), nasa.resample("5min").mean().to_numpy())
    raw = source(cloud, statistic=None).query("http.requests", nasa.index[0], nasa.index[-1], MIN)
    np.testing.assert_array_equal(raw.to_numpy(), nasa.to_numpy())
    w = src.window("http.requests", nasa.index[-1], timedelta(minutes=30), MIN)
    np.testing.assert_array_equal(w.values, nasa.iloc[-30:].to_numpy())
    q = cloud.fake.log[-1][1]
    assert q.endswith("/metrics/statistics")


def test_several_series_need_merging(cloud: OpenStackCloud) -> None:
    nasa = trace(30)
    load(cloud, "cpu", nasa, host="a")
    load(cloud, "cpu", nasa * 2, host="b")
    end = nasa.index[-1]
    with pytest.raises(SourceError, match=r"refused \(HTTP 409\): Multiple metrics"):
        source(cloud).query("cpu", nasa.index[0], end, MIN)
    with pytest.raises(SourceError, match="matched 2 series, expected one"):
        source(cloud, group_by="*").query("cpu", nasa.index[0], end, MIN)
    merged = source(cloud, merge_metrics=True, statistic="sum").query(
        "cpu", nasa.index[0], end, MIN
    )
    np.testing.assert_array_equal(merged.to_numpy(), (nasa * 3).to_numpy())
    one = source(cloud, dimensions={"host": "b"}).query("cpu", nasa.index[0], end, MIN)
    np.testing.assert_array_equal(one.to_numpy(), (nasa * 2).to_numpy())


def test_empty_nan_and_server_errors(cloud: OpenStackCloud) -> None:
    with pytest.raises(SourceError, match="no data for 'nothing'"):
        source(cloud).query("nothing", T0, T0 + 10 * MIN, MIN)
    load(cloud, "bad", pd.Series([1.0, float("nan")], index=[T0, T0 + MIN]))
    with pytest.raises(SourceError, match="has a nan value"):
        source(cloud, statistic=None).query("bad", T0, T0 + MIN, MIN)
    cloud.fake.inject(Fault("GET", r"/metrics/statistics", status=503, times=3))
    slept: list[float] = []
    with pytest.raises(SourceError, match=r"HTTP 503 from monasca \(after 3 attempts\)"):
        source(cloud, slept).query("bad", T0, T0 + MIN, MIN)
    assert len(slept) == 2
    cloud.fake.inject(Fault("GET", r"/metrics/statistics", status=403))
    with pytest.raises(SourceError, match=r"credentials refused \(HTTP 403\)"):
        source(cloud).query("bad", T0, T0 + MIN, MIN)


def test_forecast_write_back_as_pred_metrics(cloud: OpenStackCloud) -> None:
    index = pd.date_range(T0, periods=3, freq=MIN)
    forecast = Forecast(
        index, np.array([10.0, 11.0, 12.0]), {0.9: np.array([13.0, 14.0, 15.0])}, model="ets"
    )
    api = service_api(cloud.shared, "monitoring")
    assert MonascaForecastPublisher(api).publish("http.requests", forecast, {"group": "web"}) == 6
    got = source(cloud, dimensions={"group": "web", "quantile": "0.9"}).query(
        "pred.http.requests", index[0], index[-1], MIN
    )
    assert got.tolist() == [13.0, 14.0, 15.0]
    assert {m["value_meta"]["model"] for m in cloud.fake.measurements} == {"ets"}
    cloud.fake.inject(Fault("POST", r"/metrics$", status=422))
    with pytest.raises(CloudError, match=r"refused \(HTTP 422\)"):
        MonascaForecastPublisher(api).publish("x", forecast)
