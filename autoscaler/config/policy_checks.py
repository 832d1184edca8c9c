"""A policy's settings against its group's: the combinations that validate field by
field but make the policy read something else than it says, or never act."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoscaler.config.policies import (
    PolicyConfig,
    PredictiveTargetPolicyConfig,
    PredictiveThresholdPolicyConfig,
    QosPolicyConfig,
    SchedulePolicyConfig,
    ThresholdPolicyConfig,
)
from autoscaler.durations import format_duration

if TYPE_CHECKING:
    from autoscaler.config.groups import GroupConfig


def policy_problem(group: GroupConfig, cfg: PolicyConfig) -> tuple[str, str] | None:
    """The first (field of ``cfg``, message) that ``group`` contradicts, or None.

    - qos / predictive_target read their ``quantile`` from the group's forecast, which
      holds only ``forecaster.quantiles``: another one was silently replaced by the
      nearest stored quantile (by the mean when none is);
    - threshold needs ``periods`` samples of the ``interval`` within ``metric.lookback``;
      with fewer it held at every tick ("fewer than N valid samples");
    - predictive_threshold (linear) fits its line to ``lookback`` of the metric window,
      which holds only ``metric.lookback``: a longer one was silently cut;
    - a schedule minimum above ``max_size`` was clamped to it.
    """
    if isinstance(cfg, QosPolicyConfig | PredictiveTargetPolicyConfig):
        stored = group.forecaster.quantiles
        if cfg.quantile not in stored:
            listed = ", ".join(f"{q:g}" for q in stored) or "none"
            return (
                "quantile",
                f"{cfg.quantile:g} is not among forecaster.quantiles ({listed}); "
                "add it there (the policy would read another quantile or the mean)",
            )
    lookback = group.metric.lookback
    if isinstance(cfg, ThresholdPolicyConfig) and cfg.periods * group.interval > lookback:
        return (
            "periods",
            f"{cfg.periods} periods of the {format_duration(group.interval)} interval do not "
            f"fit in metric.lookback ({format_duration(lookback)}); the policy would never act",
        )
    if (
        isinstance(cfg, PredictiveThresholdPolicyConfig)
        and cfg.model == "linear"
        and cfg.lookback > lookback
    ):
        return (
            "lookback",
            f"{format_duration(cfg.lookback)} is longer than metric.lookback "
            f"({format_duration(lookback)}), the window the line is fitted to",
        )
    if isinstance(cfg, SchedulePolicyConfig):
        for i, entry in enumerate(cfg.entries):
            if entry.min > group.max_size:
                return (
                    f"entries.{i}.min",
                    f"{entry.min} exceeds the group's max_size ({group.max_size})",
                )
    return None
