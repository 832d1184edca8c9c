"""A policy's settings against its group's: the combinations that validate field by
field but make the policy read something else than it says, or never act."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
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
    from autoscaler.config.groups import ForecasterConfig, GroupConfig


def policy_problem(
    group: GroupConfig, cfg: PolicyConfig, step: timedelta | None = None
) -> tuple[str, str] | None:
    """The first (field of ``cfg``, message) that ``group`` contradicts, or None.
    ``step``: the spacing of the group's samples when it is not its ``interval`` (a
    simulation whose trace step is longer: it is evaluated once a step).

    - qos / predictive_target read their ``quantile`` from the group's forecast, which
      holds only ``forecaster.quantiles``: another one was silently replaced by the
      nearest stored quantile (by the mean when none is);
    - threshold needs ``periods`` samples of the ``interval`` within ``metric.lookback``;
      with fewer it held at every tick ("fewer than N valid samples");
    - predictive_threshold (linear) fits its line to ``lookback`` of the metric window,
      which holds only ``metric.lookback``: a longer one was silently cut;
    - predictive_target's ``keep_warm`` reads its peak from the metric window, which
      holds only ``metric.lookback``: a longer one was silently cut;
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
    every = group.interval if step is None else step
    what = "interval" if step is None else "step"
    if isinstance(cfg, ThresholdPolicyConfig) and cfg.periods * every > lookback:
        return (
            "periods",
            f"{cfg.periods} periods of the {format_duration(every)} {what} do not "
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
    if isinstance(cfg, PredictiveTargetPolicyConfig) and cfg.keep_warm > lookback:
        return (
            "keep_warm",
            f"{format_duration(cfg.keep_warm)} is longer than metric.lookback "
            f"({format_duration(lookback)}), the window its peak is read from",
        )
    if isinstance(cfg, SchedulePolicyConfig):
        for i, entry in enumerate(cfg.entries):
            if entry.min > group.max_size:
                return (
                    f"entries.{i}.min",
                    f"{entry.min} exceeds the group's max_size ({group.max_size})",
                )
    return None


def chosen_policy(
    group: GroupConfig,
    name: str,
    defaults: Mapping[str, PolicyConfig],
    spacing: timedelta | None = None,
) -> PolicyConfig:
    """``group``'s own configuration of policy ``name``, else ``defaults[name]``, as a
    simulation runs it on samples ``spacing`` apart (None: the group's interval). A
    simulation evaluates the group once a sample when they are further apart than its
    interval, so a listed policy, checked at load on the interval, is checked again.
    Raises ``ValueError`` (one line) for an unknown name or a contradicted policy."""
    listed = next((p for p in group.policies if p.kind == name), None)
    if listed is None and name not in defaults:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(sorted(defaults))})")
    cfg = listed or defaults[name]
    step = spacing if spacing is not None and spacing > group.interval else None
    if listed is None or step is not None:
        problem = policy_problem(group, cfg, step)
        if problem is not None:
            whose = (
                ""
                if listed
                else " (its defaults; list it under the group's policies to change them)"
            )
            raise ValueError(f"policy {name}{whose}: {problem[0]}: {problem[1]}")
    return cfg


def spacing_problem(group: GroupConfig, step: timedelta) -> str | None:
    """Why ``group`` cannot scale on samples ``step`` apart (a simulated trace's step), or
    None: the newest sample is a step old when read, and with ``stale_after`` shorter
    than that every reading is stale, so the engine would never scale in; and a
    ``train_window`` holding fewer such samples than the model needs never trains it.
    Raises ``ForecastError`` if the model cannot be built at ``step``."""
    if step > group.stale_after:
        return (
            f"samples {format_duration(step)} apart are older than the group's "
            f"stale_after ({format_duration(group.stale_after)}) when read, and the engine "
            f"never scales in on stale data; set stale_after to at least {format_duration(step)}"
        )
    if step != group.interval:  # the config's own check counted samples at the interval
        from autoscaler.registry import build_forecaster

        fc = group.forecaster
        model = build_forecaster(fc.model, step, dict(fc.params))
        problem = history_problem(fc, model, step)
        if problem is not None:
            return f"forecaster.train_window: {problem}"
    return None


def history_problem(fc: ForecasterConfig, model: object, step: timedelta) -> str | None:
    """Why ``fc``'s ``train_window`` of samples ``step`` apart can never train ``model``
    (an unfitted forecaster, wrappers included), or None: the refit reads only that
    window back, so a model needing more points would never be fitted and the
    stand-in would serve forever."""
    from autoscaler.forecasting import own_model

    need = int(getattr(own_model(model), "min_history", 2))
    have = max(2, int(fc.train_window / step))
    if have >= need:
        return None
    return (
        f"{format_duration(fc.train_window)} holds {have} samples "
        f"{format_duration(step)} apart, and {fc.model} needs at least {need} to be "
        f"fitted (a stand-in would serve forever); set train_window to at least "
        f"{format_duration(step * need)}"
    )
