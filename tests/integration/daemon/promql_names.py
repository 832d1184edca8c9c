"""The metric names, labels and label values that PromQL expressions and templates use,
checked against what a daemon's ``/metrics`` exposes.

Deliberately simple: it reads ``autoscaler_*`` selectors with their matchers, the label
lists of ``by``/``on``/``group_left`` and friends, and ``{{label}}`` / ``$labels.x``
templates. That is all our dashboard and rules use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

SELECTOR = re.compile(r"\b(autoscaler_[A-Za-z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
TEMPLATE = re.compile(
    r"\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$labels\.([A-Za-z_][A-Za-z0-9_]*)"
)
# Labels that Prometheus adds when it scrapes, or that histograms carry.
SCRAPE_LABELS = frozenset({"job", "instance"})


@dataclass
class Exposed:
    """Sample names with their label names, and the values seen per (name, label)."""

    labels: dict[str, set[str]] = field(default_factory=dict)
    values: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str) -> Exposed:
        from prometheus_client.parser import text_string_to_metric_families

        out = cls()
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out.labels.setdefault(s.name, set()).update(s.labels)
                for k, v in s.labels.items():
                    out.values.setdefault((s.name, k), set()).add(v)
        return out


def problems(expr: str, exposed: Exposed, templates: Iterable[str] = ()) -> list[str]:
    """What ``expr`` (and its legend or annotation ``templates``) names that is not exposed."""
    found: list[str] = []
    names = []
    for name, braces in SELECTOR.findall(expr):
        names.append(name)
        if name not in exposed.labels:
            found.append(f"metric {name} is not exposed")
            continue
        for label, op, value in MATCHER.findall(braces or ""):
            if label not in exposed.labels[name]:
                found.append(f"{name} has no label {label}")
            elif op == "=" and "$" not in value and value not in exposed.values[(name, label)]:
                found.append(f'{name}{{{label}="{value}"}} is never exposed')
    available = set(SCRAPE_LABELS)
    for name in names:
        available |= exposed.labels.get(name, set())
    for group in GROUPING.findall(expr):
        for label in (x.strip() for x in group.split(",")):
            if label and label not in available:
                found.append(f"label {label} (in by/on) is on none of {sorted(set(names))}")
    for text in templates:
        for a, b in TEMPLATE.findall(text):
            label = a or b
            if label not in available:
                found.append(f"template label {label} is on none of {sorted(set(names))}")
    return found
