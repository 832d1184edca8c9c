"""qos's defaults: the quantile it plans on is one the default forecaster makes (a
missing one silently falls back to the nearest stored quantile), and the config's
defaults are the policy's own."""

from __future__ import annotations

from dataclasses import fields

from autoscaler.config import ForecasterConfig, QosPolicyConfig, default_group
from autoscaler.policies.qos import QosPolicy
from autoscaler.registry import build_policy


def test_the_planning_quantile_is_made_by_the_default_forecaster() -> None:
    assert QosPolicyConfig().quantile in ForecasterConfig().quantiles
    assert QosPolicy().quantile in default_group().forecaster.quantiles


def test_the_config_defaults_are_the_policys() -> None:
    built = build_policy(QosPolicyConfig(), default_group())
    plain = QosPolicy()
    assert isinstance(built, QosPolicy)
    for f in fields(QosPolicy):
        assert getattr(built, f.name) == getattr(plain, f.name), f.name
