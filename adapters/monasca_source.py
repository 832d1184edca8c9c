"""A ``MetricSource`` reading the Monasca v2.0 API through a keystoneauth session.

Monasca was retired upstream in 2025 but still runs in many clouds. ``query`` reads
``/v2.0/metrics/statistics`` (one statistic per ``step``-long period) or, when no
statistic is configured, the raw ``/v2.0/metrics/measurements`` placed on the step
grid. The error rules are the Prometheus source's: every failure is a one-line
``SourceError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd

from autoscaler.adapters.backoff import Backoff, parse_retry_after
from autoscaler.adapters.series_window import (
    grid,
    regular_series,
    series_to_window,
    window_grid_start,
)
from autoscaler.model import MetricWindow, SourceError, ensure_utc

Statistic = Literal["avg", "min", "max", "sum", "count"]
MAX_PAGES = 1000  # a runaway "next" chain is a server bug, not data


@dataclass(frozen=True)
class MonascaQuery:
    """What to ask Monasca for besides the metric name (the engine's query string)."""

    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: Statistic | None = "avg"
    merge_metrics: bool = False
    group_by: str | None = None


class MonascaSource:
    """Reads one series per metric name. ``api`` is a keystoneauth ``Adapter`` for the
    ``monitoring`` service (its catalog URL ends in ``/v2.0``)."""

    def __init__(
        self, api: Any, query: MonascaQuery | None = None, *, backoff: Backoff | None = None
    ) -> None:
        self._api = api
        self.params = query or MonascaQuery()
        self.backoff = backoff or Backoff()

    def query(self, query: str, start: datetime, end: datetime, step: timedelta) -> pd.Series:
        """Values of metric ``query`` on ``start + k*step <= end``; NaN where Monasca has none."""
        start, end = ensure_utc(start), ensure_utc(end)
        if end < start:
            raise SourceError(f"monasca: end {end} is before start {start}")
        index = grid(start, end, step)
        p = self.params
        params: dict[str, str] = {
            "name": query,
            "start_time": _iso(start),
            # end_time is exclusive in Monasca; include the last grid point's period.
            "end_time": _iso(end + step),
        }
        if p.dimensions:
            params["dimensions"] = ",".join(f"{k}:{v}" for k, v in sorted(p.dimensions.items()))
        if p.merge_metrics:
            params["merge_metrics"] = "true"
        if p.group_by:
            params["group_by"] = p.group_by
        if p.statistic:
            if step.total_seconds() % 1 or step < timedelta(seconds=1):
                raise SourceError(f"monasca: step {step} is not a whole number of seconds")
            params["period"] = str(int(step.total_seconds()))
            params["statistics"] = p.statistic
            elements = self._pages("/metrics/statistics", params, query)
            rows_key, column = "statistics", p.statistic
        else:
            elements = self._pages("/metrics/measurements", params, query)
            rows_key, column = "measurements", "value"
        if len(elements) > 1:
            dims = "; ".join(str(e.get("dimensions")) for e in elements[:3])
            raise SourceError(
                f"monasca: {query!r} matched {len(elements)} series, expected one "
                f"(narrow the dimensions or set merge_metrics): {dims}"
            )
        stamps, values = self._rows(elements[0] if elements else {}, rows_key, column, query)
        if not stamps:
            raise SourceError(
                f"monasca: no data for {query!r} between {start:%Y-%m-%d %H:%M} and "
                f"{end:%Y-%m-%d %H:%M} UTC"
            )
        return regular_series(stamps, values, index[0], end, step)

    def window(self, query: str, end: datetime, span: timedelta, step: timedelta) -> MetricWindow:
        start = window_grid_start(end, span, step)
        return series_to_window(self.query(query, start, end, step), end, span, step)

    # ------------------------------------------------------------------ HTTP

    def _pages(self, path: str, params: dict[str, str], query: str) -> list[dict[str, Any]]:
        """All ``elements`` across pages, merged by element id."""
        merged: dict[str, dict[str, Any]] = {}
        url: str | None = path
        page_params: dict[str, str] | None = params
        for _ in range(MAX_PAGES):
            if url is None:
                break
            body = self._get(url, page_params, query)
            elements = body.get("elements")
            if not isinstance(elements, list):
                raise SourceError(f"monasca: malformed answer for {query!r} (no elements list)")
            for el in elements:
                if not isinstance(el, dict):
                    raise SourceError(f"monasca: malformed element in the answer for {query!r}")
                key = str(el.get("id", len(merged)))
                if key in merged:
                    for rows in ("statistics", "measurements"):
                        merged[key].setdefault(rows, []).extend(el.get(rows) or [])
                else:
                    merged[key] = el
            url = next(
                (lk.get("href") for lk in body.get("links") or [] if lk.get("rel") == "next"), None
            )
            page_params = None  # the next link carries the query and offset
        return list(merged.values())

    def _get(self, url: str, params: Mapping[str, str] | None, query: str) -> dict[str, Any]:
        from keystoneauth1 import exceptions as ksa_exc

        last = "no attempt made"
        for attempt in range(1, self.backoff.attempts + 1):
            retry_after = None
            try:
                resp = self._api.get(url, params=params, raise_exc=False)
            except (ksa_exc.ConnectionError, ksa_exc.EndpointNotFound) as exc:
                if isinstance(exc, ksa_exc.EndpointNotFound):
                    raise SourceError(
                        f"monasca: no monitoring endpoint in the catalog: {exc}"
                    ) from None
                last = f"cannot reach monasca ({type(exc).__name__})"
            except ksa_exc.ClientException as exc:
                raise SourceError(f"monasca: {exc}") from None
            else:
                status = resp.status_code
                if status in (401, 403):
                    raise SourceError(f"monasca: credentials refused (HTTP {status}) for {query!r}")
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(
                        resp.headers.get("Retry-After"), resp.headers.get("Date")
                    )
                    last = f"HTTP {status} from monasca"
                elif status >= 400:
                    raise SourceError(
                        f"monasca: query {query!r} refused (HTTP {status}): {_message(resp)}"
                    )
                else:
                    try:
                        body = resp.json()
                    except ValueError:
                        raise SourceError(f"monasca: answer for {query!r} is not JSON") from None
                    if not isinstance(body, dict):
                        raise SourceError(f"monasca: malformed answer for {query!r}")
                    return body
            if attempt < self.backoff.attempts:
                self.backoff.wait(attempt, retry_after)
        raise SourceError(f"monasca: {last} (after {self.backoff.attempts} attempts)")

    @staticmethod
    def _rows(
        element: dict[str, Any], rows_key: str, column: str, query: str
    ) -> tuple[list[float], list[float]]:
        rows = element.get(rows_key) or []
        columns = element.get("columns") or []
        if rows and (column not in columns or "timestamp" not in columns):
            raise SourceError(f"monasca: answer for {query!r} lacks the {column!r} column")
        ti, vi = (columns.index("timestamp"), columns.index(column)) if rows else (0, 1)
        stamps: list[float] = []
        values: list[float] = []
        for row in rows:
            try:
                t = pd.Timestamp(row[ti])
                t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
                v = float(row[vi])
            except (TypeError, ValueError, IndexError):
                raise SourceError(f"monasca: malformed row {row!r} for {query!r}") from None
            if not math.isfinite(v):
                raise SourceError(
                    f"monasca: {query!r} has a {v} value at {t:%Y-%m-%d %H:%M:%S} UTC"
                )
            stamps.append(t.timestamp())
            values.append(v)
        return stamps, values


def _message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or "")[:200]
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict) and "message" in inner:
            return str(inner["message"])[:200]
    return str(body)[:200]


def _iso(t: datetime) -> str:
    return ensure_utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")
