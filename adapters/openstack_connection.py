"""Opening an openstacksdk connection from clouds.yaml (imported lazily: openstack is heavy)."""

from __future__ import annotations

from typing import Any

from autoscaler.model import CloudError


def connect(cloud: str | None, clouds_file: str | None = None) -> Any:
    """An ``openstack.connection.Connection`` for the entry ``cloud`` of clouds.yaml.

    clouds.yaml is found the way the ``openstack`` CLI finds it (``OS_CLIENT_CONFIG_FILE``,
    ``./clouds.yaml``, ``~/.config/openstack/``, ``/etc/openstack/``) unless
    ``clouds_file`` names it. Raises ``CloudError`` when the entry is missing or invalid.
    """
    import openstack.config
    import openstack.connection
    from openstack import exceptions as sdk_exc

    try:
        files = [clouds_file] if clouds_file else None
        loader = openstack.config.OpenStackConfig(config_files=files, load_envvars=False)
        region = loader.get_one(cloud=cloud)
    except (sdk_exc.ConfigException, OSError) as exc:
        raise CloudError(f"clouds.yaml: cannot use cloud {cloud!r}: {exc}") from None
    return openstack.connection.Connection(config=region)


def service_api(conn: Any, service_type: str) -> Any:
    """A keystoneauth ``Adapter`` for a service openstacksdk has no proxy for (Monasca).

    It shares the connection's session (token, re-authentication) and uses the catalog
    URL as it is, without version discovery.
    """
    from keystoneauth1.adapter import Adapter

    return Adapter(
        session=conn.session,
        service_type=service_type,
        interface=conn.config.get_interface(service_type) or "public",
        region_name=conn.config.get_region_name(service_type),
    )
