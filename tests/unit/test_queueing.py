import math

import numpy as np
import pytest

from autoscaler.queueing import SloCapacity, erlang_c, response_quantile


def erlang_c_direct(c: int, a: float) -> float:
    """The textbook closed form, to check the recursion against."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.0), (5, 3.0), (10, 8.0), (30, 25.0)])
def test_erlang_c_matches_closed_form(c: int, a: float) -> None:
    assert float(erlang_c(c, a)) == pytest.approx(erlang_c_direct(c, a), rel=1e-10)


def test_known_values() -> None:
    assert float(erlang_c(2, 1.0)) == pytest.approx(1 / 3)
    assert float(erlang_c(1, 0.7)) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    assert float(erlang_c(10, 8.0)) == pytest.approx(0.4092, abs=1e-4)  # standard table value
    assert float(erlang_c(3, 3.0)) == 1.0
    assert float(erlang_c(3, 0.0)) == 0.0


def test_mm1_response_quantile_is_exponential() -> None:
    # M/M/1 response time is Exp(mu - lam).
    mu, lam = 10.0, 6.0
    assert float(response_quantile(1, lam, mu, 0.95)[0]) == pytest.approx(
        math.log(20) / (mu - lam), rel=1e-9
    )


def test_idle_group_gives_service_time_quantile() -> None:
    assert float(response_quantile(4, 0.0, 5.0, 0.95)[0]) == pytest.approx(
        math.log(20) / 5.0, rel=1e-9
    )


def test_latency_grows_sharply_near_saturation() -> None:
    lam = np.array([0.5, 0.8, 0.9, 0.95, 0.99]) * 20 * 10.0
    lat = response_quantile(20, lam, 10.0, 0.95)
    assert np.all(np.diff(lat) > 0)
    assert lat[-1] > 5 * lat[0]
    assert np.isinf(response_quantile(20, 200.0, 10.0)[0])


def test_slo_capacity_is_the_fewest_servers_meeting_the_slo() -> None:
    mu, slo = 100.0, 0.05
    table = SloCapacity.build(mu, slo, 60)
    lam = np.linspace(0, 5000, 97)
    need = table.required(lam)
    for load, c in zip(lam, need, strict=True):
        if load == 0:
            assert c == 0
            continue
        assert response_quantile(c, load, mu)[0] <= slo * (1 + 1e-6)
        assert c == 1 or response_quantile(c - 1, load, mu)[0] > slo * (1 - 1e-6)


def test_unreachable_slo_needs_more_than_any_size() -> None:
    table = SloCapacity.build(10.0, 0.1, 20)  # service time alone has p95 of 0.3 s
    assert table.required(5.0) == 21
