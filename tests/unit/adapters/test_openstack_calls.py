"""The OpenStack error rules as a table: each failure and what ``call`` makes of it."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from keystoneauth1 import exceptions as ksa_exc

from autoscaler.adapters.backoff import Backoff
from autoscaler.adapters.openstack_calls import HttpFailure, call
from autoscaler.model import CloudError


def failing(errors: list[BaseException], result: str = "ok") -> Callable[[], str]:
    """A call that raises each of ``errors`` in turn, then returns ``result``."""
    pending = list(errors)

    def fn() -> str:
        if pending:
            raise pending.pop(0)
        return result

    return fn


def http(status: int, retry_after: str | None = None) -> HttpFailure:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return HttpFailure(status, headers, f"server says {status}")


def backoff(slept: list[float]) -> Backoff:
    return Backoff(attempts=3, base=1.0, max_retry_after=60, sleep=slept.append,
                   rng=random.Random(0))  # fmt: skip


@pytest.mark.parametrize(
    ("error", "message", "retry_after"),
    [
        (http(401), r"resize web: authentication refused \(HTTP 401\)", None),
        (ksa_exc.Unauthorized("no"), r"authentication refused \(HTTP 401\)", None),
        (http(403), r"forbidden \(HTTP 403\).*server says 403", None),
        (http(404), r"not found \(HTTP 404\), the group is gone", None),
        (http(409), r"conflict \(HTTP 409\), retry later", 30.0),
        (http(409, "5"), r"conflict", 5.0),
        (http(413), r"quota or rate limit \(HTTP 413\)", None),
        (http(429, "600"), r"quota or rate limit \(HTTP 429\)", 600.0),
        (http(400), r"rejected \(HTTP 400\)", None),
    ],
)
def test_refusals_are_not_retried(
    error: BaseException, message: str, retry_after: float | None
) -> None:
    slept: list[float] = []
    with pytest.raises(CloudError, match=message) as exc:
        call(failing([error]), "resize web", backoff(slept))
    assert exc.value.retry_after == retry_after and slept == []


@pytest.mark.parametrize(
    "errors",
    [
        [http(500), http(503)],
        [ksa_exc.ConnectFailure("reset"), ksa_exc.ConnectTimeout("slow")],
        [http(429, "2"), http(502)],
    ],
)
def test_transient_failures_are_retried_with_backoff(errors: list[BaseException]) -> None:
    slept: list[float] = []
    assert call(failing(errors), "list servers", backoff(slept)) == "ok"
    assert len(slept) == 2 and slept[0] <= 1.0 + 2.0  # jitter within base, or Retry-After


def test_retry_after_is_honoured_then_attempts_run_out() -> None:
    slept: list[float] = []
    with pytest.raises(CloudError, match=r"HTTP 503.*after 3 attempts") as exc:
        call(failing([http(503, "7")] * 3), "list servers", backoff(slept))
    assert slept == [7.0, 7.0] and exc.value.retry_after == 7.0


def test_other_exceptions_are_bugs_and_propagate() -> None:
    with pytest.raises(KeyError):
        call(failing([KeyError("x")]), "list servers", backoff([]))
