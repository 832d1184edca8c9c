"""The cloud a config acts on, the simulated one's hosts and placement, and the daemon."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from autoscaler.config.api import ApiConfig
from autoscaler.config.base import BootDuration, FrozenModel, Interval, Timeout, Window
from autoscaler.limits import MAX_GROUP_SIZE, MAX_HOSTS, MAX_PRICE, MAX_SEED, MAX_SPEEDUP

# ---------------------------------------------------------------- cloud, simulation


class FlavorConfig(FrozenModel):
    vcpus: int = Field(1, ge=1, le=100_000)
    ram_mb: int = Field(2048, ge=1, le=1_000_000_000)
    gpus: int = Field(0, ge=0, le=1024)
    price_per_hour: float = Field(0.05, ge=0, le=MAX_PRICE)


class NovaConfig(FrozenModel):
    """How the Nova adapter boots a group's servers (the flavor is the group's)."""

    image: str = Field(min_length=1)  # image ID
    network: str | None = None  # network ID; none lets Nova pick ("auto")
    key_name: str | None = None
    user_data_file: str | None = None
    server_group_policy: (
        Literal["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"] | None
    ) = None
    boot_timeout: BootDuration = timedelta(minutes=10)  # 0s: do not wait, report them as booting
    # How groups' ``placement:`` reach Nova: "hosts" reads hosts from Placement and boots
    # on the chosen one (admin role); "hints" maps the policy to a server group (any
    # project). See docs/integrations.md.
    placement: Literal["hosts", "hints"] = "hosts"
    max_server_per_host: int | None = Field(None, ge=1)  # spread as hard anti-affinity


class HeatGroupConfig(FrozenModel):
    """Where a group lives in Heat (defaults match etc/heat/asg-external.yaml)."""

    stack: str = Field(min_length=1)
    resource: str = "asg"
    mode: Literal["update", "signal"] = "update"
    capacity_parameter: str = "desired_capacity"
    scale_up_policy: str = "scale_up"
    scale_down_policy: str = "scale_down"


class SenlinGroupConfig(FrozenModel):
    cluster: str = Field(min_length=1)
    adjustment: Literal["exact", "change"] = "exact"
    action_timeout: BootDuration = timedelta(minutes=15)


class CloudConfig(FrozenModel):
    kind: Literal["simulated", "nova", "heat", "senlin"] = "simulated"
    cloud: str | None = None  # name of the entry in clouds.yaml; credentials stay there
    clouds_file: str | None = None  # default: where the openstack CLI looks
    nova: NovaConfig | None = None
    heat: dict[str, HeatGroupConfig] = Field(default_factory=dict)  # group name -> stack
    senlin: dict[str, SenlinGroupConfig] = Field(default_factory=dict)  # group -> cluster

    @model_validator(mode="after")
    def _kind(self) -> CloudConfig:
        if self.kind == "nova" and self.nova is None:
            raise ValueError("kind nova needs a nova section (image, network, ...)")
        return self


class SimulationConfig(FrozenModel):
    step: Interval = timedelta(minutes=1)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    peak_instances: int = Field(20, ge=1, le=MAX_GROUP_SIZE)
    boot_failure_rate: float = Field(0.0, ge=0, lt=1)
    request_timeout: Timeout = timedelta(seconds=10)
    trace: str | None = None
    column: str | None = None
    fill: Literal["zero", "previous"] | None = None


class HostGroupConfig(FrozenModel):
    """``count`` identical hosts of the simulated cloud, named ``prefix-N``, spread
    round-robin over ``zones``; CPU and RAM may be overcommitted as Nova does."""

    prefix: str = Field("cmp", pattern=r"^[A-Za-z0-9_.-]+$")
    count: int = Field(1, ge=1, le=MAX_HOSTS)
    zones: list[str] = Field(default_factory=lambda: ["az1"], min_length=1)
    vcpus: int = Field(8, ge=1, le=100_000)
    ram_mb: int = Field(32768, ge=1, le=1_000_000_000)
    gpus: int = Field(0, ge=0, le=1024)
    cpu_allocation_ratio: float = Field(4.0, gt=0, le=1000)
    ram_allocation_ratio: float = Field(1.0, gt=0, le=1000)


class PlacementConfig(FrozenModel):
    """How VMs are placed and judged in ``simulate --vms``."""

    contention_threshold: float = Field(0.8, ge=0.01, le=1.0)  # 1 % .. 100 %
    quantile: float = Field(0.95, gt=0.5, lt=1)
    history: Window = timedelta(hours=1)
    rebalance_every: Window = timedelta(hours=1)
    # On a real cloud interference_aware's rebalance is a recorded plan of live
    # migrations, carried out only with "apply"; at most migrations_per_round a round
    # and migrations_per_host moving into or out of any one host.
    rebalance: Literal["plan", "apply", "off"] = "plan"
    migrations_per_round: int = Field(8, ge=0)
    migrations_per_host: int = Field(4, ge=1)
    vm_flavor: str = "m1.small"
    # interference_aware drains the least-loaded hosts onto others kept at or below
    # consolidate_below (predicted share of their vCPUs; default: 0.1 under the contention
    # threshold, at least half of it); the gap keeps VMs from moving back and forth
    consolidate: bool = True
    consolidate_below: float | None = Field(None, gt=0, lt=1)
    consolidate_max_moves: int = Field(
        32, ge=0, le=MAX_HOSTS
    )  # consolidation migrations per rebalance

    @model_validator(mode="after")
    def _hysteresis(self) -> PlacementConfig:
        self.consolidation_target(self.contention_threshold)
        return self

    def consolidation_target(self, threshold: float) -> float | None:
        """The consolidation target under contention ``threshold`` (None when consolidation
        is off). Raises ``ValueError`` when ``consolidate_below`` is not below it."""
        if not self.consolidate:
            return None
        below = self.consolidate_below
        if below is None:
            return round(max(threshold - 0.1, threshold / 2), 6)
        if below >= threshold:
            raise ValueError(
                f"consolidate_below ({below}) must be below the contention threshold ({threshold})"
            )
        return below


class DaemonConfig(FrozenModel):
    """How ``autoscaler run`` serves: state, HTTP, logs, readiness, the simulated clock."""

    state_dir: str = "/var/lib/autoscaler"
    bind: str = "127.0.0.1"
    port: int = Field(9723, ge=0, le=65535)
    # auto: text on a terminal, else JSON lines; under journald each line gets its <N> priority
    log_format: Literal["auto", "json", "text"] = "auto"
    api: ApiConfig = ApiConfig()
    speedup: float = Field(60.0, gt=0, le=MAX_SPEEDUP)
    not_ready_after: int = Field(3, ge=1, le=1000)
    source_timeout: Timeout = timedelta(seconds=10)
    misfire_grace: Timeout = timedelta(seconds=30)
    # Audit records older than this (by their tick time) are deleted as new ones come.
    audit_retention: Window = timedelta(days=30)
