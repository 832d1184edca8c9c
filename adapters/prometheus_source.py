"""A ``MetricSource`` reading Prometheus over its HTTP API (``/api/v1/query_range`` and
``/api/v1/query``).

Every failure surfaces as ``SourceError`` with one line saying what went wrong: transport
errors and 5xx/429 after the retries are spent, 4xx at once, a non-success status, a
malformed body, no data, NaN/Inf values, or several series where one was expected (the
engine then holds rather than scale in on bad data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import requests

from autoscaler.adapters.backoff import Backoff, parse_retry_after
from autoscaler.adapters.series_window import (
    grid,
    regular_series,
    series_to_window,
    window_grid_start,
)
from autoscaler.model import MetricWindow, SourceError, ensure_utc

MAX_POINTS_PER_SERIES = 11_000  # Prometheus refuses query_range answers longer than this


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` (the token never appears in repr or errors)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


class PrometheusSource:
    """Reads one series per query from the Prometheus at ``url``.

    ``auth`` is any requests auth (``BearerAuth``, ``requests.auth.HTTPBasicAuth``);
    ``ca_file`` verifies a TLS server against that CA bundle; ``timeout`` is seconds per
    HTTP request. ``max_points`` caps the points asked for in one ``query_range`` call.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: requests.auth.AuthBase | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
        backoff: Backoff | None = None,
        session: requests.Session | None = None,
        max_points: int = MAX_POINTS_PER_SERIES,
    ) -> None:
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.max_points = max_points
        self._session = session or requests.Session()
        self._session.auth = auth
        self._verify: bool | str = ca_file if ca_file else True

    # ------------------------------------------------------------------ public API

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        """``query`` evaluated at ``start + k*step <= end``; NaN where Prometheus has no point.

        Long ranges are split into calls of at most ``max_points`` points each.
        """
        start, end = ensure_utc(start), ensure_utc(end)
        if end < start:
            raise SourceError(f"prometheus: end {end} is before start {start}")
        index = grid(start, end, step)
        timestamps: list[float] = []
        values: list[float] = []
        chunk = (self.max_points - 1) * step
        lo = start
        while lo <= end:
            hi = min(lo + chunk, end)
            params = {
                "query": query,
                "start": _epoch(lo),
                "end": _epoch(hi),
                "step": f"{step.total_seconds():g}s",
            }
            data = self._get("/api/v1/query_range", params, query)
            for ts, v in self._one_series(data, "matrix", query).get("values", []):
                timestamps.append(float(ts))
                values.append(_sample(v, query, ts))
            lo = hi + step
        if not timestamps:
            raise SourceError(
                f"prometheus: no data for {query!r} between {start:%Y-%m-%d %H:%M} and "
                f"{end:%Y-%m-%d %H:%M} UTC"
            )
        return regular_series(timestamps, values, index[0], end, step)

    def instant(self, query: str, at: datetime) -> float:
        """The value of ``query`` at ``at`` (an instant query); one series or a scalar."""
        data = self._get("/api/v1/query", {"query": query, "time": _epoch(ensure_utc(at))}, query)
        if data.get("resultType") == "scalar":
            pair = data.get("result")
        else:
            pair = self._one_series(data, "vector", query).get("value")
        if not isinstance(pair, list) or len(pair) != 2:
            if data.get("resultType") == "vector" and not data.get("result"):
                raise SourceError(
                    f"prometheus: no data for {query!r} at {at:%Y-%m-%d %H:%M:%S} UTC"
                )
            raise SourceError(f"prometheus: malformed instant result for {query!r}")
        return _sample(pair[1], query, pair[0])

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        start = window_grid_start(end, span, step)
        return series_to_window(self.query(query, start, end, step), end, span, step)

    # ------------------------------------------------------------------ HTTP

    def _get(self, path: str, params: Mapping[str, str], query: str) -> dict[str, Any]:
        """The ``data`` member of a successful answer; retries transport errors, 5xx and 429."""
        url = self.url + path
        last = "no attempt made"
        for attempt in range(1, self.backoff.attempts + 1):
            retry_after = None
            try:
                resp = self._session.get(
                    url, params=params, timeout=self.timeout, verify=self._verify
                )
            except requests.exceptions.SSLError as exc:
                raise SourceError(f"prometheus: TLS error talking to {self.url}: {exc}") from None
            except requests.RequestException as exc:
                last = f"cannot reach {self.url}: {type(exc).__name__}"
            else:
                if resp.status_code in (401, 403):
                    raise SourceError(
                        f"prometheus: {self.url} refused our credentials "
                        f"(HTTP {resp.status_code}); check the token or user/password"
                    )
                if resp.status_code == 429 or resp.status_code >= 500:
                    retry_after = parse_retry_after(
                        resp.headers.get("Retry-After"), resp.headers.get("Date")
                    )
                    last = f"HTTP {resp.status_code} from {self.url}{_api_error(resp)}"
                else:
                    return _success_data(resp, query, self.url)
            if attempt < self.backoff.attempts:
                self.backoff.wait(attempt, retry_after)
        raise SourceError(f"prometheus: {last} (after {self.backoff.attempts} attempts)")

    @staticmethod
    def _one_series(data: dict[str, Any], kind: str, query: str) -> dict[str, Any]:
        """The single series of a matrix/vector answer; {} when there is none."""
        if data.get("resultType") != kind:
            raise SourceError(
                f"prometheus: expected a {kind} for {query!r}, got {data.get('resultType')!r}"
            )
        result = data.get("result")
        if not isinstance(result, list):
            raise SourceError(f"prometheus: malformed result for {query!r}")
        if len(result) > 1:
            labels = ", ".join(_labels(s) for s in result[:3])
            raise SourceError(
                f"prometheus: {query!r} returned {len(result)} series, expected one "
                f"(aggregate it, e.g. sum(...)): {labels}{', ...' if len(result) > 3 else ''}"
            )
        if not result:
            return {}
        if not isinstance(result[0], dict):
            raise SourceError(f"prometheus: malformed series in the answer for {query!r}")
        return result[0]


def _success_data(resp: requests.Response, query: str, url: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        raise SourceError(
            f"prometheus: HTTP {resp.status_code} from {url} with a body that is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise SourceError(f"prometheus: malformed answer from {url} (not an object)")
    if body.get("status") != "success":
        err = body.get("error") or "no error message"
        kind = body.get("errorType") or "error"
        raise SourceError(f"prometheus: query {query!r} failed ({kind}): {err}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise SourceError(f"prometheus: malformed answer from {url} (no data object)")
    return data


def _api_error(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return f": {body.get('error')}" if isinstance(body, dict) and body.get("error") else ""


def _sample(raw: Any, query: str, ts: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise SourceError(f"prometheus: non-numeric sample {raw!r} in {query!r}") from None
    if not math.isfinite(value):
        when = pd.Timestamp(float(ts), unit="s", tz="UTC")
        raise SourceError(
            f"prometheus: {query!r} has a {raw} value at {when:%Y-%m-%d %H:%M:%S} UTC"
        )
    return value


def _labels(series: Any) -> str:
    metric = series.get("metric", {}) if isinstance(series, dict) else {}
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _epoch(t: datetime) -> str:
    return f"{t.timestamp():.3f}"
