from datetime import timedelta

import pytest

from autoscaler.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        ("250ms", timedelta(milliseconds=250)),
        ("2d", timedelta(days=2)),
        (" 1H ", timedelta(hours=1)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5 minutes", "", "m5", "10", "1h 30m", "5x"])
def test_rejects_with_hint(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*use 90s, 5m, 1h"):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0, 0.25, 1, 90, 300, 3600, 5400, 86400])
def test_round_trip(seconds: float) -> None:
    d = timedelta(seconds=seconds)
    assert parse_duration(format_duration(d)) == d
