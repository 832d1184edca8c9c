"""Forecasters in the daemon: which provider a group gets, and the retraining job's hook.

A group gets the forecaster its config names, wired exactly as the simulator wires it
(``registry.build_forecast_provider``), when one of its policies reads a forecast or
it runs in advisor mode. ``Retrainer`` is what the per-group retraining job calls: for the engine's
``RetrainingForecastProvider`` (built here with ``inline=False``) it refits the model
every ``forecaster.retrain``, the same cadence, window and fallback the simulator uses
inline; a group without forecasts gets ``NoRetrain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from autoscaler.interfaces import Retrainer


class NoRetrain:
    """The retraining hook of a group that has no forecaster: does nothing."""

    def retrain(self, group: str, now: datetime) -> None:
        return None

    def model_age(self, now: datetime) -> timedelta | None:
        return None


@dataclass
class ProviderRetraining:
    """The hook for the engine's ``RetrainingForecastProvider``: the job refits the
    group's model through the provider (which the daemon builds with ``inline=False``,
    so evaluations never fit)."""

    provider: Any
    group: str

    def retrain(self, group: str, now: datetime) -> None:
        self.provider.refit(self.group, now)

    def model_age(self, now: datetime) -> timedelta | None:
        return self.provider.model_age(self.group, now)


@dataclass
class InlineRetraining:
    """The hook of a provider that refits inside its ticks (a simulated world, where
    refits follow simulated time as in the simulator): the job leaves it alone."""

    provider: Any
    group: str

    def retrain(self, group: str, now: datetime) -> None:
        return None

    def model_age(self, now: datetime) -> timedelta | None:
        return self.provider.model_age(self.group, now)


def inline_retraining(provider: object, group: str) -> Retrainer:
    """``InlineRetraining`` for a provider that can say its model's age, else ``NoRetrain``."""
    return InlineRetraining(provider, group) if hasattr(provider, "model_age") else NoRetrain()


def retrainer_for(provider: object, group: str) -> Retrainer:
    """The retraining hook for ``provider`` (see the module docstring)."""
    from autoscaler.forecasting import RetrainingForecastProvider

    if callable(getattr(provider, "retrain", None)) and callable(
        getattr(provider, "model_age", None)
    ):
        return provider  # type: ignore[return-value]
    if isinstance(provider, RetrainingForecastProvider):
        return ProviderRetraining(provider, group)
    return NoRetrain()
