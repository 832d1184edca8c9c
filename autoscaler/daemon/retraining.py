"""Forecasters in the daemon: which provider a group gets, and the retraining job's hook.

A group gets the forecaster its config names, wired exactly as the simulator wires it
(``registry.build_forecast_provider``), and only when one of its policies reads a
forecast. ``Retrainer`` is what the per-group retraining job calls: a provider that
can refit away from the evaluation tick implements it itself; the engine's
``RetrainingForecastProvider`` refits inside ``forecast`` every ``forecaster.retrain``,
so for it the hook only reports the model's age; a group without forecasts gets
``NoRetrain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from autoscaler.config import GroupConfig
from autoscaler.engine import ForecastProvider


class Retrainer(Protocol):
    def retrain(self, group: str, now: datetime) -> None:
        """Refit the group's model on recent data. May be slow; runs in its own job."""

    def model_age(self, now: datetime) -> timedelta | None:
        """Time since the model was last fitted; None when there is no model."""


class NoRetrain:
    """The retraining hook of a group that has no forecaster: does nothing."""

    def retrain(self, group: str, now: datetime) -> None:
        return None

    def model_age(self, now: datetime) -> timedelta | None:
        return None


@dataclass
class InlineRetraining:
    """The hook for a provider that refits on its own schedule inside ``forecast``:
    nothing to do here but report the age of the group's model."""

    provider: Any
    group: str

    def retrain(self, group: str, now: datetime) -> None:
        return None

    def model_age(self, now: datetime) -> timedelta | None:
        st = self.provider.groups.get(self.group)
        fitted = getattr(st, "fitted_at", None)
        return None if fitted is None or getattr(st, "model", None) is None else now - fitted


def config_forecasts(cfg: GroupConfig) -> ForecastProvider | None:
    """The group's configured forecaster, or None when no policy of it reads forecasts."""
    from autoscaler.registry import build_forecast_provider, needs_forecast

    if not any(needs_forecast(p) for p in cfg.policies):
        return None
    return build_forecast_provider(cfg.forecaster)


def retrainer_for(provider: object, group: str) -> Retrainer:
    """The retraining hook for ``provider`` (see the module docstring)."""
    from autoscaler.forecasting import RetrainingForecastProvider

    if callable(getattr(provider, "retrain", None)) and callable(
        getattr(provider, "model_age", None)
    ):
        return provider  # type: ignore[return-value]
    if isinstance(provider, RetrainingForecastProvider):
        return InlineRetraining(provider, group)
    return NoRetrain()
