"""The one place that builds runtime objects from configuration."""

from __future__ import annotations

from autoscaler.config import (
    BootDelayConfig,
    OraclePolicyConfig,
    PolicyConfig,
    TargetPolicyConfig,
    ThresholdPolicyConfig,
)
from autoscaler.interfaces import ScalingPolicy
from autoscaler.policies.target import TargetPolicy
from autoscaler.policies.threshold import ThresholdPolicy
from autoscaler.simulator.boot import BootDelay

# Policies that can be named on the command line, with their default configuration.
POLICY_DEFAULTS: dict[str, PolicyConfig] = {
    "threshold": ThresholdPolicyConfig(),
    "target": TargetPolicyConfig(),
    "oracle": OraclePolicyConfig(),
}


def build_policy(cfg: PolicyConfig) -> ScalingPolicy:
    """A live policy from its config. The oracle needs the future and is built by the
    simulation itself; asking for it here raises ``ValueError``."""
    if isinstance(cfg, ThresholdPolicyConfig):
        return ThresholdPolicy(cfg.upper, cfg.lower, cfg.periods, cfg.step_out, cfg.step_in)
    if isinstance(cfg, TargetPolicyConfig):
        return TargetPolicy(
            cfg.target,
            cfg.tolerance,
            cfg.stabilization_down,
            cfg.max_up_pct,
            cfg.max_up_pods,
            cfg.max_down_pct,
        )
    raise ValueError(f"policy {cfg.kind!r} cannot run outside the simulator")


def build_boot_delay(cfg: BootDelayConfig) -> BootDelay:
    return BootDelay(cfg.distribution, cfg.median, cfg.low, cfg.high, cfg.sigma)
