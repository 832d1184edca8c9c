from __future__ import annotations

import random

import pytest

from autoscaler.adapters.backoff import Backoff, parse_retry_after


def test_delays_grow_exponentially_within_the_cap() -> None:
    b = Backoff(base=1.0, cap=5.0, rng=random.Random(1))
    for retry, bound in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [b.delay(retry) for _ in range(200)]
        assert all(0.0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8  # the jitter spans the range, not a constant


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    a = [Backoff(rng=random.Random(7)).delay(n) for n in (1, 2, 3)]
    b = [Backoff(rng=random.Random(7)).delay(n) for n in (1, 2, 3)]
    assert a == b


def test_retry_after_wins_when_longer_but_is_capped() -> None:
    b = Backoff(base=0.1, cap=0.1, max_retry_after=30.0, rng=random.Random(0))
    assert b.delay(1, retry_after=7.0) == 7.0
    assert b.delay(1, retry_after=3600.0) == 30.0


def test_wait_uses_the_injected_sleep() -> None:
    slept: list[float] = []
    b = Backoff(sleep=slept.append, rng=random.Random(0))
    got = b.wait(2, retry_after=4.0)
    assert slept == [got] and got == 4.0


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("120", None, 120.0),
        (" 0 ", None, 0.0),
        ("-5", None, 0.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", None, None),
        ("soon", "Wed, 21 Oct 2026 07:28:00 GMT", None),
        (None, None, None),
        ("", None, None),
    ],
)
def test_parse_retry_after(value: str | None, date: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, date) == expected
