"""The fake Monasca of ``FakeOpenStack``: metric posts, measurements and statistics."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.fake_http import Reply, error, now_text


class MonascaFake:
    """Monasca's v2.0 ``POST /metrics``, ``GET /metrics/measurements`` and ``/statistics``."""

    url: str

    def _init_monasca(self) -> None:
        self.measurements: list[dict[str, Any]] = []

    def _reset_monasca(self) -> None:
        self.measurements.clear()

    def _monasca(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
                 headers: Any) -> Reply:  # fmt: skip
        rest = rest.removeprefix("/v2.0")
        if method == "POST" and rest == "/metrics":
            items = body if isinstance(body, list) else [body]
            for it in items:
                if not isinstance(it, dict) or not {"name", "timestamp", "value"} <= it.keys():
                    return Reply(422, {"unprocessable_entity": {"code": 422, "message":
                                 "name, timestamp and value are required"}})  # fmt: skip
                self.measurements.append({"dimensions": {}, **it})
            return Reply(204)
        if method != "GET" or rest not in ("/metrics/measurements", "/metrics/statistics"):
            return error(404, "not_found", f"fake monasca has no {method} {rest}")
        q = {k: v[0] for k, v in query.items()}
        if "name" not in q or "start_time" not in q:
            return Reply(422, {"unprocessable_entity": {"code": 422,
                         "message": "name and start_time are required"}})  # fmt: skip
        want = dict(d.split(":", 1) for d in q.get("dimensions", "").split(",") if d)
        start = datetime.fromisoformat(q["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(q.get("end_time", now_text()).replace("Z", "+00:00"))
        series: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = {}
        for meas in self.measurements:
            t = datetime.fromtimestamp(meas["timestamp"] / 1000, UTC)
            dims = meas["dimensions"]
            if (
                meas["name"] == q["name"]
                and start <= t < end
                and all(dims.get(k) == v for k, v in want.items())
            ):
                series.setdefault(tuple(sorted(dims.items())), []).append(meas)
        merge = q.get("merge_metrics", "false").lower() == "true"
        group_by = q.get("group_by")
        if len(series) > 1 and not merge and not group_by:
            message = "Multiple metrics exist. Specify merge_metrics or group_by."
            return Reply(409, {"conflict": {"code": 409, "message": message}})
        groups = (
            {k: v for k, v in series.items()}
            if group_by
            else {(): [m for ms in series.values() for m in ms]}
            if series
            else {}
        )
        elements = []
        for i, (dims, ms) in enumerate(groups.items()):
            ms = sorted(ms, key=lambda m: m["timestamp"])
            el: dict[str, Any] = {"id": str(i), "name": q["name"], "dimensions": dict(dims)}
            if rest.endswith("measurements"):
                el["columns"] = ["timestamp", "value", "value_meta"]
                el["measurements"] = [
                    [datetime.fromtimestamp(m["timestamp"] / 1000, UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"), m["value"], m.get("value_meta") or {}]
                    for m in ms
                ]  # fmt: skip
            else:
                stats = q.get("statistics", "avg").split(",")
                period = timedelta(seconds=int(q.get("period", "300")))
                buckets: dict[datetime, list[float]] = {}
                for meas in ms:
                    t = datetime.fromtimestamp(meas["timestamp"] / 1000, UTC)
                    b = start + ((t - start) // period) * period
                    buckets.setdefault(b, []).append(float(meas["value"]))
                fn = {"avg": statistics.fmean, "min": min, "max": max, "sum": sum,
                      "count": len}  # fmt: skip
                el["columns"] = ["timestamp", *stats]
                el["statistics"] = [
                    [b.strftime("%Y-%m-%dT%H:%M:%SZ"), *(fn[s](v) for s in stats)]
                    for b, v in sorted(buckets.items())
                ]
            elements.append(el)
        return Reply(200, {"links": [{"rel": "self", "href": f"{self.url}/monitoring/v2.0{rest}"}],
                           "elements": elements})  # fmt: skip
