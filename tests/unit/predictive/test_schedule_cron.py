"""The cron matcher and the schedule policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoscaler.config import ConfigError, parse_config
from autoscaler.cron import CronError, CronExpr
from autoscaler.policies.schedule import ScheduleEntry, SchedulePolicy
from autoscaler.registry import build_policy

from .helpers import ctx

MON_0830 = datetime(2024, 1, 1, 8, 30, tzinfo=UTC)  # 2024-01-01 is a Monday
SAT_0830 = datetime(2024, 1, 6, 8, 30, tzinfo=UTC)
SUN_0830 = datetime(2024, 1, 7, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "t", "want"),
    [
        ("* 8-9 * * 1-5", MON_0830, True),
        ("* 8-9 * * 1-5", SAT_0830, False),
        ("* 10-11 * * 1-5", MON_0830, False),
        ("*/15 * * * *", MON_0830, True),
        ("*/20 * * * *", MON_0830, False),
        ("0,30 8 * * *", MON_0830, True),
        ("30 8 * * 7", SUN_0830, True),  # 7 is Sunday too
        ("30 8 * * 0", SUN_0830, True),
        ("30 8 1 * *", MON_0830, True),
        ("30 8 2 * 1", MON_0830, True),  # both day fields restricted: either matches
        ("30 8 2 * 2", MON_0830, False),
        ("30 8 * 2 *", MON_0830, False),  # February only
        ("5-59/25 * * * *", MON_0830, True),  # 5, 30, 55
    ],
)
def test_cron_matches(expr: str, t: datetime, want: bool) -> None:
    assert CronExpr.parse(expr).matches(t) is want


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * * *", "needs 5 fields"),
        ("60 * * * *", "minute field: 60 is outside 0-59"),
        ("* 9-8 * * *", "hour field: range '9-8' runs backwards"),
        ("* * * * mon", "weekday field: 'mon' is not a number"),
        ("*/0 * * * *", "minute field: 0 is outside"),
    ],
)
def test_cron_errors(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        CronExpr.parse(expr)


def _policy(tz: str = "UTC") -> SchedulePolicy:
    return SchedulePolicy(
        (
            ScheduleEntry(CronExpr.parse("* 8-9 * * 1-5"), 10, "mornings"),
            ScheduleEntry(CronExpr.parse("* 8 * * 1"), 15, "monday 8"),
        ),
        tz,
    )


@pytest.mark.parametrize(
    ("now", "tz", "want"),
    [
        (MON_0830, "UTC", 15),  # both match: the larger minimum
        (datetime(2024, 1, 2, 9, 30, tzinfo=UTC), "UTC", 10),
        (SAT_0830, "UTC", 1),  # nothing active: min_size
        (datetime(2024, 1, 2, 7, 30, tzinfo=UTC), "Europe/Berlin", 10),  # 08:30 in Berlin
        (datetime(2024, 1, 2, 7, 30, tzinfo=UTC), "UTC", 1),
    ],
)
def test_schedule_policy(now: datetime, tz: str, want: int) -> None:
    d = _policy(tz).decide(ctx([100.0], 4, now=now))
    assert d.desired == want


def test_schedule_from_config_and_bad_cron_reported_with_line() -> None:
    text = """groups:
  - name: web
    policies:
      - kind: schedule
        entries:
          - {cron: "* 8-9 * * 1-5", min: 6}
"""
    import yaml

    cfg = parse_config(yaml.safe_load(text), "c.yaml", text)
    policy = build_policy(cfg.groups[0].policies[0], cfg.groups[0])
    assert policy.decide(ctx([1.0], 2, now=MON_0830)).desired == 6

    bad = text.replace("8-9", "8-25")
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_load(bad), "c.yaml", bad)
    assert len(err.value.errors) == 1
    assert err.value.errors[0].startswith("c.yaml:6:")
    assert "hour field: 25 is outside 0-23" in err.value.errors[0]
