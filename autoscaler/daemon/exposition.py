"""The ``/metrics`` body, through prometheus-client's own exposition.

``choose_encoder`` negotiates the format from ``Accept`` (Prometheus text 0.0.4, or
OpenMetrics when the scraper asks for it); the body is gzipped when ``Accept-Encoding``
allows it. The ``_created`` series that prometheus-client adds to every counter and
histogram are left out: they double the series count and no dashboard or rule reads them.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class WithoutCreated:
    """A collector view of ``source`` without the ``*_created`` samples."""

    def __init__(self, source: Collector) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        for metric in self.source.collect():
            kept = [s for s in metric.samples if not s.name.endswith("_created")]
            if kept or not metric.samples:
                copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
                copy.samples = kept
                yield copy


@dataclass(frozen=True)
class MetricsBody:
    body: bytes
    content_type: str
    content_encoding: str | None


def render_metrics(registry: Collector, accept: str, accept_encoding: str) -> MetricsBody:
    """Encode ``registry`` for a scraper that sent these ``Accept`` headers."""
    encoder, content_type = choose_encoder(accept)
    body = encoder(WithoutCreated(registry))
    if gzip_accepted(accept_encoding):
        return MetricsBody(gzip.compress(body), content_type, "gzip")
    return MetricsBody(body, content_type, None)
