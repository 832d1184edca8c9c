"""Policy variants in a sweep grid, and the cost/violation frontier of its results.

A grid's policy may carry one setting after ``@``: ``target@0.4`` (the utilisation
target tracking aims at), ``threshold@0.7/0.3`` (upper/lower), ``qos@1`` (the
violation budget, % of steps: ``slo.target_violation_pct``). A sweep over several
``target@U`` is the Kubernetes HPA tuned with hindsight, and its Pareto points are the
frontier every other policy is judged against: ``frontier_rows`` gives, per qos
variant, its instance-hours over the target frontier's at qos's own violation rate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autoscaler.config import (
    GroupConfig,
    QosPolicyConfig,
    TargetPolicyConfig,
    ThresholdPolicyConfig,
)

VARIANT_KINDS = ("target", "threshold", "qos")


@dataclass(frozen=True, slots=True)
class Variant:
    """A policy name with its one setting: ``kind@setting``."""

    kind: str
    setting: tuple[float, ...]  # (utilisation,), (upper, lower) or (budget %,)


def parse_variant(name: str) -> Variant | None:
    """The variant ``name`` names; None for a plain policy name (no ``@``). Raises
    ``ValueError`` for a malformed one."""
    if "@" not in name:
        return None
    kind, _, raw = name.partition("@")
    if kind not in VARIANT_KINDS:
        raise ValueError(f"{name!r}: only {', '.join(VARIANT_KINDS)} take a setting after @")
    try:
        values = tuple(float(x) for x in raw.split("/"))
    except ValueError:
        raise ValueError(f"{name!r}: the setting after @ is not a number") from None
    want = 2 if kind == "threshold" else 1
    if len(values) != want:
        raise ValueError(f"{name!r}: {kind} takes {want} number(s) after @")
    if kind == "target" and not 0 < values[0] <= 1:
        raise ValueError(f"{name!r}: the target utilisation must lie in (0, 1]")
    if kind == "threshold" and not 0 <= values[1] < values[0] <= 1:
        raise ValueError(f"{name!r}: threshold@UPPER/LOWER needs 0 <= lower < upper <= 1")
    if kind == "qos" and not 0 < values[0] <= 100:
        raise ValueError(f"{name!r}: the violation budget must lie in (0, 100] %")
    return Variant(kind, values)


def apply_variant(group: GroupConfig, variant: Variant) -> GroupConfig:
    """The group with the variant as its one policy (qos: and its violation budget)."""
    if variant.kind == "target":
        return group.model_copy(
            update={"policies": [TargetPolicyConfig(target=variant.setting[0])]}
        )
    if variant.kind == "threshold":
        up, lo = variant.setting
        return group.model_copy(update={"policies": [ThresholdPolicyConfig(upper=up, lower=lo)]})
    own = next((p for p in group.policies if isinstance(p, QosPolicyConfig)), QosPolicyConfig())
    slo = group.slo.model_copy(update={"target_violation_pct": variant.setting[0]})
    return group.model_copy(update={"policies": [own], "slo": slo})


def frontier(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The Pareto points (violation %, instance-hours): sorted by violations, each one
    cheaper than every point with fewer violations."""
    out: list[tuple[float, float]] = []
    for v, h in sorted(points):
        if not out or h < out[-1][1]:
            out.append((v, h))
    return out


def interpolate(front: Sequence[tuple[float, float]], v: float) -> tuple[float, str]:
    """The frontier's instance-hours at violation rate ``v`` (linear between points);
    outside its range, the nearest end and ``<`` or ``>`` to say which side."""
    if v <= front[0][0]:
        return front[0][1], "<" if v < front[0][0] else ""
    if v >= front[-1][0]:
        return front[-1][1], ">" if v > front[-1][0] else ""
    for (v0, h0), (v1, h1) in itertools.pairwise(front):
        if v0 <= v <= v1:
            return h0 + (h1 - h0) * (v - v0) / (v1 - v0), ""
    return front[-1][1], ""


def frontier_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (trace, boot delay, instance budget, seed) with at least one ``target@U``
    cell: every ``qos@B`` cell's violation rate, its instance-hours over the target
    frontier's at that rate (``side``: ``<``/``>`` when outside the frontier's range)
    and over the oracle's when the grid ran it."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        key = (r["trace"], r["boot_delay_s"], r["budget"], r["seed"])
        groups.setdefault(key, []).append(r)
    out = []
    for (trace, boot, budget, seed), rs in groups.items():
        kinds = {r["policy"]: parse_variant(r["policy"]) for r in rs}
        targets = [
            (r["slo_violation_pct"], r["instance_hours"])
            for r in rs
            if (k := kinds[r["policy"]]) is not None and k.kind == "target"
        ]
        if not targets:
            continue
        front = frontier(targets)
        oracle = next((r["instance_hours"] for r in rs if r["policy"] == "oracle"), None)
        for r in rs:
            k = kinds[r["policy"]]
            if k is None or k.kind != "qos":
                continue
            ref, side = interpolate(front, r["slo_violation_pct"])
            out.append(
                {
                    "trace": trace,
                    "boot_delay_s": boot,
                    "budget": budget,
                    "seed": seed,
                    "policy": r["policy"],
                    "violation_budget_pct": k.setting[0],
                    "slo_violation_pct": r["slo_violation_pct"],
                    "vs_target_frontier": round(r["instance_hours"] / ref, 4) if ref else None,
                    "side": side,
                    "vs_oracle": round(r["instance_hours"] / oracle, 4) if oracle else None,
                }
            )
    return out
