"""The YAML configuration, validated with pydantic into frozen objects.

``load_config(path)`` reads and validates a file and raises ``ConfigError`` listing
*every* problem at once, each as ``file:line: path.to.field: message``. The models live
in one small module per section; this package exports them all.
"""

from __future__ import annotations

from autoscaler.config.api import ApiConfig
from autoscaler.config.base import (
    ConfigError,
    Duration,
    FrozenModel,
    loc_to_path,
)
from autoscaler.config.cloud import (
    CloudConfig,
    DaemonConfig,
    FlavorConfig,
    HeatGroupConfig,
    HostGroupConfig,
    NovaConfig,
    PlacementConfig,
    SenlinGroupConfig,
    SimulationConfig,
)
from autoscaler.config.coordination import CoordinationConfig
from autoscaler.config.cross_checks import (
    placement_problems,
    raw_reference_problems,
    reference_problems,
    victims_problems,
)
from autoscaler.config.groups import (
    BootDelayConfig,
    ForecasterConfig,
    GroupConfig,
    LatencyMetricConfig,
    MetricConfig,
    MonascaConfig,
    PrometheusConfig,
    SloConfig,
    default_group,
)
from autoscaler.config.loading import (
    load_config,
    option_line,
    parse_config,
)
from autoscaler.config.policies import (
    POLICY_KINDS,
    KpaPolicyConfig,
    OraclePolicyConfig,
    PolicyConfig,
    PredictiveTargetPolicyConfig,
    PredictiveThresholdPolicyConfig,
    QosPolicyConfig,
    ScheduleEntryConfig,
    SchedulePolicyConfig,
    TargetPolicyConfig,
    ThresholdPolicyConfig,
)
from autoscaler.config.root import (
    Config,
)
from autoscaler.config.serving import ServingConfig, WarmSetConfig

__all__ = [
    "POLICY_KINDS",
    "ApiConfig",
    "BootDelayConfig",
    "CloudConfig",
    "Config",
    "ConfigError",
    "CoordinationConfig",
    "DaemonConfig",
    "Duration",
    "FlavorConfig",
    "ForecasterConfig",
    "FrozenModel",
    "GroupConfig",
    "HeatGroupConfig",
    "HostGroupConfig",
    "KpaPolicyConfig",
    "LatencyMetricConfig",
    "MetricConfig",
    "MonascaConfig",
    "NovaConfig",
    "OraclePolicyConfig",
    "PlacementConfig",
    "PolicyConfig",
    "PredictiveTargetPolicyConfig",
    "PredictiveThresholdPolicyConfig",
    "PrometheusConfig",
    "QosPolicyConfig",
    "ScheduleEntryConfig",
    "SchedulePolicyConfig",
    "SenlinGroupConfig",
    "ServingConfig",
    "SimulationConfig",
    "SloConfig",
    "TargetPolicyConfig",
    "ThresholdPolicyConfig",
    "WarmSetConfig",
    "default_group",
    "load_config",
    "loc_to_path",
    "option_line",
    "parse_config",
    "placement_problems",
    "raw_reference_problems",
    "reference_problems",
    "victims_problems",
]
