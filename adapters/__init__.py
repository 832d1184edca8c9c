"""Connections to the outside world (import name ``autoscaler.adapters``).

Metric sources: ``prometheus_source.PrometheusSource``, ``monasca_source.MonascaSource``
(both put samples on the step grid with ``series_window``). Cloud adapters:
``nova_adapter.NovaAdapter``, ``heat_adapter.HeatAdapter``, ``senlin_adapter.SenlinAdapter``
(SDK/HTTP failures become ``CloudError`` in ``openstack_calls``). Forecast write-back:
``forecast_export``. ``autoscaler.registry`` builds all of them from the config (these
modules never read it). Heavy libraries (openstack, keystoneauth, prometheus_client) are
imported only where used.
"""
