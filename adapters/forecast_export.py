"""Publishing forecasts as metrics, so that existing alarms (Aodh, Alertmanager) can use them.

* ``PrometheusForecastGauges`` sets gauges in a ``prometheus_client`` registry that the
  caller passes in and serves (the daemon's ``/metrics``); Prometheus scrapes them.
  Remote-write is out of scope: scraping is how Prometheus is meant to be fed.
* ``MonascaForecastPublisher`` posts ``pred.<metric>`` measurements at the forecast's
  future timestamps (the naming of the original Monasca predictor), one series per
  quantile, through a keystoneauth adapter for the ``monitoring`` service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoscaler.model import CloudError, Forecast


class PrometheusForecastGauges:
    """The forecast at ``ahead`` steps after now, as Prometheus gauges:

    * ``autoscaler_forecast_load{group,quantile}`` and
      ``autoscaler_forecast_utilization{group,quantile}``, one series per forecast
      quantile (``quantile="0.9"``: a probability, as Prometheus' own label means);
    * ``autoscaler_forecast_load_mean{group}`` and
      ``autoscaler_forecast_utilization_mean{group}``, the mean.

    Utilization is the load over the group's current capacity, which is what an Aodh
    alarm threshold compares.
    """

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Gauge

        labels = ["group", "quantile"]
        self.load = Gauge(
            "autoscaler_forecast_load",
            "Forecast quantile of the group's total load, in requests/s",
            labels,
            registry=registry,
        )
        self.utilization = Gauge(
            "autoscaler_forecast_utilization",
            "Forecast quantile of the load over the group's current capacity (1.0 = full)",
            labels,
            registry=registry,
        )
        self.load_mean = Gauge(
            "autoscaler_forecast_load_mean",
            "Forecast mean of the group's total load, in requests/s",
            ["group"],
            registry=registry,
        )
        self.utilization_mean = Gauge(
            "autoscaler_forecast_utilization_mean",
            "Forecast mean load over the group's current capacity (1.0 = full)",
            ["group"],
            registry=registry,
        )

    def publish(
        self, group: str, forecast: Forecast, *, ahead: int, instances: int, capacity: float
    ) -> None:
        """Set the gauges from step ``ahead`` (1-based) of ``forecast``.

        Raises ``ValueError`` when the forecast is shorter than ``ahead``.
        """
        if not 1 <= ahead <= len(forecast):
            raise ValueError(f"forecast has {len(forecast)} steps, cannot publish step {ahead}")
        full = max(instances, 0) * capacity

        def share(value: float) -> float:
            return value / full if full > 0 else float("inf")

        mean = float(forecast.mean[ahead - 1])
        self.load_mean.labels(group).set(mean)
        self.utilization_mean.labels(group).set(share(mean))
        for q, values in forecast.quantiles.items():
            value = float(values[ahead - 1])
            self.load.labels(group, f"{q:g}").set(value)
            self.utilization.labels(group, f"{q:g}").set(share(value))

    def forget(self, group: str) -> None:
        """Drop every series of ``group`` (a group removed by a reload)."""
        for gauge in (self.load, self.utilization, self.load_mean, self.utilization_mean):
            gauge.remove_by_labels({"group": group})


class MonascaForecastPublisher:
    """Posts forecasts to Monasca (``POST /v2.0/metrics``). ``api`` is a keystoneauth
    ``Adapter`` for the ``monitoring`` service."""

    def __init__(self, api: Any) -> None:
        self._api = api

    def publish(
        self, metric: str, forecast: Forecast, dimensions: Mapping[str, str] | None = None
    ) -> int:
        """Post ``pred.<metric>`` for every step and quantile; returns the measurements sent.

        Raises ``CloudError`` when Monasca refuses them.
        """
        from keystoneauth1 import exceptions as ksa_exc

        series = {"mean": forecast.mean, **{f"{q:g}": v for q, v in forecast.quantiles.items()}}
        body = [
            {
                "name": f"pred.{metric}",
                "dimensions": {**(dimensions or {}), "quantile": name},
                "timestamp": int(ts.timestamp() * 1000),
                "value": float(v),
                "value_meta": {"model": forecast.model} if forecast.model else {},
            }
            for name, values in series.items()
            for ts, v in zip(forecast.index, values, strict=True)
        ]
        try:
            resp = self._api.post("/metrics", json=body, raise_exc=False)
        except ksa_exc.ClientException as exc:
            raise CloudError(f"monasca: cannot post pred.{metric}: {exc}") from None
        if resp.status_code >= 400:
            raise CloudError(f"monasca: posting pred.{metric} refused (HTTP {resp.status_code})")
        return len(body)
