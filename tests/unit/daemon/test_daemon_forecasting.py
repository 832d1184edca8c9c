"""Which forecaster and retraining hook a group gets."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from daemon_fakes import T0, group

from autoscaler.config import Config, GroupConfig
from autoscaler.daemon.retraining import NoRetrain, ProviderRetraining, retrainer_for
from autoscaler.forecasting import RetrainingForecastProvider
from autoscaler.model import MetricWindow
from autoscaler.registry import build_binding

MIN = timedelta(minutes=1)


def config_forecasts(cfg: GroupConfig) -> RetrainingForecastProvider | None:
    """The provider the registry gives the group in the daemon (refits left to the job)."""
    binding = build_binding(Config(), cfg, source=None, cloud=None, refit_inline=False)  # type: ignore[arg-type]
    return binding.forecaster  # type: ignore[return-value]


def test_only_groups_whose_policies_read_forecasts_get_a_provider() -> None:
    reactive = GroupConfig.model_validate(group("web"))
    predictive = GroupConfig.model_validate(
        group("web", policies=[{"kind": "qos"}], forecaster={"model": "level", "retrain": "2h"})
    )
    assert config_forecasts(reactive) is None
    provider = config_forecasts(predictive)
    assert isinstance(provider, RetrainingForecastProvider)
    assert provider.retrain == timedelta(hours=2)


def test_evaluations_never_fit_the_model_the_job_and_a_worker_do() -> None:
    import time

    spec = GroupConfig.model_validate(group("web")).spec()
    provider = config_forecasts(
        GroupConfig.model_validate(
            group("web", policies=[{"kind": "predictive_target"}], forecaster={"retrain": "10m"})
        )
    )
    assert provider is not None and provider.inline is False
    hook = retrainer_for(provider, "web")
    assert isinstance(hook, ProviderRetraining)
    assert hook.model_age(T0) is None  # nothing fitted yet
    hook.retrain("web", T0)  # a group not seen yet: nothing to refit
    window = MetricWindow(T0, MIN, np.linspace(100, 200, 60))
    first = provider.forecast(spec, window, T0)
    # the evaluation did not wait: the naive fallback served, the fit runs on a worker
    assert first is not None and "first fit of the model still running" in first.note
    deadline = time.monotonic() + 30
    while provider.fits == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider.fits == 1
    later = MetricWindow(T0 + MIN, MIN, np.linspace(100, 200, 60) + 1)
    fc = provider.forecast(spec, later, T0 + MIN)
    assert fc is not None and "fell back" not in fc.note and provider.fits == 1
    assert hook.model_age(T0 + 5 * MIN) == 5 * MIN
    hook.retrain("web", T0 + 5 * MIN)  # the job's refit
    assert provider.fits == 2
    # both fits ran in the daemon's worker processes, not on its threads
    assert provider.fit_pool is not None and provider.fit_pool.remote >= 2
    assert hook.model_age(T0 + 6 * MIN) == MIN


def test_a_provider_with_its_own_hook_is_used_and_none_gets_no_retrain() -> None:
    class OffTick:
        def forecast(self, spec, window, now):
            return None

        def retrain(self, group: str, now) -> None:
            self.called = (group, now)

        def model_age(self, now):
            return None

    own = OffTick()
    assert retrainer_for(own, "web") is own
    assert isinstance(retrainer_for(None, "web"), NoRetrain)
    assert NoRetrain().model_age(T0) is None and NoRetrain().retrain("web", T0) is None
