"""The registry's builders of metric sources, cloud adapters and forecast publishers.

Part of ``autoscaler.registry`` (kept in its own module for size): call them through
``autoscaler.registry``, the one entry point that builds objects from config; they call
the adapters' constructors, and the adapters know nothing of the config.

openstack and keystoneauth are imported only when an OpenStack piece is built. Problems
that are the user's (a token file that cannot be read, a user-data file missing) raise
``ConfigError`` naming the config field, so the CLI prints one line and exits 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoscaler.adapters.secrets import SecretError, read_secret
from autoscaler.config import CloudConfig, ConfigError, GroupConfig, MetricConfig


def build_source(metric: MetricConfig, cloud: CloudConfig, *, where: str = "metric") -> Any:
    """The ``MetricSource`` for a group's ``metric`` section (not for ``simulated``)."""
    if metric.source == "prometheus":
        return _prometheus(metric, where)
    if metric.source == "monasca":
        from autoscaler.adapters.monasca_source import MonascaQuery, MonascaSource

        m = metric.monasca
        query = MonascaQuery(dict(m.dimensions), m.statistic, m.merge_metrics, m.group_by)
        return MonascaSource(_monitoring_api(cloud), query)
    raise ValueError(f"{where}.source: {metric.source} is not built here")


def build_forecast_publisher(metric: MetricConfig, cloud: CloudConfig) -> Any | None:
    """A ``MonascaForecastPublisher`` when ``monasca.publish_forecast`` is on, else None."""
    if metric.source != "monasca" or not metric.monasca.publish_forecast:
        return None
    from autoscaler.adapters.forecast_export import MonascaForecastPublisher

    return MonascaForecastPublisher(_monitoring_api(cloud))


def build_cloud(cloud: CloudConfig, groups: Sequence[GroupConfig], *, conn: Any = None) -> Any:
    """The ``CloudAdapter`` for ``cloud.kind`` (nova, heat or senlin) serving ``groups``.

    ``conn`` (an openstacksdk Connection) is opened from clouds.yaml when not given.
    Groups missing from the ``heat``/``senlin`` maps use their own name as stack/cluster.
    """
    if cloud.kind not in ("nova", "heat", "senlin"):
        raise ValueError(f"cloud.kind: {cloud.kind} is not built here")
    if conn is None:
        from autoscaler.adapters.openstack_connection import connect

        conn = connect(cloud.cloud, cloud.clouds_file)
    if cloud.kind == "nova":
        from autoscaler.adapters.nova_adapter import NovaAdapter, NovaSettings

        n = cloud.nova
        assert n is not None  # CloudConfig guarantees it for kind nova
        user_data = None
        if n.user_data_file:
            try:
                user_data = Path(n.user_data_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    [f"cloud.nova.user_data_file: cannot read {n.user_data_file}: {exc.strerror}"]
                ) from None
        settings = NovaSettings(
            image=n.image,
            network=n.network,
            key_name=n.key_name,
            user_data=user_data,
            server_group_policy=n.server_group_policy,
            boot_timeout=n.boot_timeout,
            placement=n.placement if any(g.placement for g in groups) else None,
            max_server_per_host=n.max_server_per_host,
        )
        nova = NovaAdapter(
            conn,
            settings,
            {g.name: g.flavor for g in groups},
            placements={g.name: g.placement for g in groups},
        )
        if settings.placement == "hosts":
            _check_placement_access(nova)
        return nova
    if cloud.kind == "heat":
        from autoscaler.adapters.heat_adapter import HeatAdapter, HeatGroup

        heat = {}
        for g in groups:
            h = cloud.heat.get(g.name)
            heat[g.name] = (
                HeatGroup(h.stack, h.resource, h.mode, h.capacity_parameter,
                          h.scale_up_policy, h.scale_down_policy)
                if h else HeatGroup(stack=g.name)
            )  # fmt: skip
        return HeatAdapter(conn, heat)
    from autoscaler.adapters.senlin_adapter import SenlinAdapter, SenlinGroup

    senlin = {}
    timeouts = []
    for g in groups:
        s = cloud.senlin.get(g.name)
        senlin[g.name] = SenlinGroup(s.cluster, s.adjustment) if s else SenlinGroup(g.name)
        if s:
            timeouts.append(s.action_timeout)
    if timeouts:
        return SenlinAdapter(conn, senlin, action_timeout=max(timeouts))
    return SenlinAdapter(conn, senlin)


def _check_placement_access(nova: Any) -> None:
    """Refuse ``nova.placement: hosts`` with credentials that cannot read host views
    (the admin-only Placement and zone reads), naming the option: a config error."""
    from autoscaler.adapters.placement_hosts import PlacementAccessDenied

    try:
        nova.check_placement_access()
    except PlacementAccessDenied as exc:
        raise ConfigError(
            [
                "cloud.nova.placement: hosts needs the admin role to read hosts from "
                f"Placement, and these credentials lack it ({exc}); use placement: hints "
                "(server groups, see docs/integrations.md) or admin credentials"
            ]
        ) from None


def _prometheus(metric: MetricConfig, where: str) -> Any:
    import requests

    from autoscaler.adapters.prometheus_source import BearerAuth, PrometheusSource

    p = metric.prometheus
    assert p is not None  # MetricConfig guarantees it for source prometheus
    auth: Any = None
    try:
        if p.token_file or p.token_env:
            auth = BearerAuth(read_secret(file=p.token_file, env=p.token_env, what="token"))
        elif p.username:
            password = read_secret(file=p.password_file, env=p.password_env, what="password")
            auth = requests.auth.HTTPBasicAuth(p.username, password)
    except SecretError as exc:
        raise ConfigError([f"{where}.prometheus: {exc}"]) from None
    if p.ca_file and not Path(p.ca_file).is_file():
        raise ConfigError([f"{where}.prometheus.ca_file: no such file {p.ca_file}"])
    return PrometheusSource(p.url, auth=auth, ca_file=p.ca_file, timeout=p.timeout.total_seconds())


def _monitoring_api(cloud: CloudConfig) -> Any:
    from autoscaler.adapters.openstack_connection import connect, service_api

    return service_api(connect(cloud.cloud, cloud.clouds_file), "monitoring")
