"""Checks across sections (group names, flavors, placement, victims), on validated
models and on raw data alike, so that they are reported with the field errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import (
    ValidationError,
)

from autoscaler.config.cloud import FlavorConfig, HostGroupConfig
from autoscaler.config.groups import GroupConfig


def reference_problems(
    groups: list[tuple[object, object]], flavors: set[str]
) -> list[tuple[tuple[Any, ...], str]]:
    """Duplicate group names and unknown flavors, as (location, message) pairs."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen: set[object] = set()
    for i, (name, flavor) in enumerate(groups):
        if name in seen:
            problems.append((("groups", i, "name"), f"duplicate group name {name!r}"))
        seen.add(name)
        if isinstance(flavor, str) and flavor not in flavors:
            known = ", ".join(sorted(flavors)) or "none"
            problems.append(
                (("groups", i, "flavor"), f"unknown flavor {flavor!r} (known: {known})")
            )
    return problems


# Why a group's ``placement:`` cannot run on each real cloud (Nova can: its hosts come
# from Placement, or its policy becomes a server group).
_UNPLACEABLE = {
    "heat": "a Heat AutoScalingGroup creates its servers itself and cannot place single ones",
    "senlin": "a Senlin cluster creates its nodes itself and cannot place single ones",
}


# Clouds whose adapters report no per-instance load, so ``victims: least_loaded`` would
# silently fall back to the youngest instance there.
_NO_INSTANCE_LOAD = ("nova", "heat", "senlin")


def victims_problems(
    victims: list[object], cloud_kind: object = "simulated"
) -> list[tuple[tuple[Any, ...], str]]:
    """Per group's ``victims``: least_loaded needs a cloud that reports instance load."""
    if not isinstance(cloud_kind, str) or cloud_kind not in _NO_INSTANCE_LOAD:
        return []
    return [
        (
            ("groups", i, "victims"),
            f"victims least_loaded needs a cloud that reports each instance's load; the "
            f"{cloud_kind} adapter does not (use youngest, oldest or frees_host)",
        )
        for i, v in enumerate(victims)
        if v == "least_loaded"
    ]


def named_group_problems(
    names: list[object], maps: Mapping[str, object], serving_group: object = None
) -> list[tuple[tuple[Any, ...], str]]:
    """Keys of ``cloud.heat`` / ``cloud.senlin`` (in ``maps``, by section) that name no
    group: a misspelt key was ignored, and the group it meant then acted on the stack or
    cluster named after itself (the adapters' default). ``serving_group``
    (``serving.group``, when given) must name a group too."""
    known = [n for n in names if isinstance(n, str)]
    listed = ", ".join(known) or "none"
    problems: list[tuple[tuple[Any, ...], str]] = []
    for section, entries in maps.items():
        if isinstance(entries, Mapping):
            problems += [
                (("cloud", section, key), f"no group named {key!r} (groups: {listed})")
                for key in entries
                if key not in known
            ]
    if isinstance(serving_group, str) and serving_group not in known:
        problems.append((("serving", "group"), f"no group {serving_group!r} (groups: {listed})"))
    return problems


def placement_problems(
    groups: list[tuple[object, object]],
    flavors: Mapping[str, FlavorConfig],
    hosts: Sequence[HostGroupConfig],
    cloud_kind: object = "simulated",
) -> list[tuple[tuple[Any, ...], str]]:
    """Per group (placement, flavor name): a placement policy needs a cloud that can
    honour it (simulated, with a ``hosts`` section, or nova); with hosts, the group's
    flavor must fit on at least one host (as (location, message))."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, (placement, flavor) in enumerate(groups):
        if placement is not None and isinstance(cloud_kind, str) and cloud_kind in _UNPLACEABLE:
            problems.append(
                (
                    ("groups", i, "placement"),
                    f"placement {placement} needs cloud.kind simulated or nova: "
                    f"{_UNPLACEABLE[cloud_kind]}",
                )
            )
        elif placement is not None and not hosts and cloud_kind != "nova":
            problems.append(
                (("groups", i, "placement"), "a placement policy needs a hosts: section")
            )
        f = flavors.get(flavor) if isinstance(flavor, str) else None
        if f is None or not hosts:
            continue
        if not any(
            f.vcpus <= h.vcpus * h.cpu_allocation_ratio
            and f.ram_mb <= h.ram_mb * h.ram_allocation_ratio
            and f.gpus <= h.gpus
            for h in hosts
        ):
            problems.append(
                (
                    ("groups", i, "flavor"),
                    f"flavor {flavor!r} ({f.vcpus} vCPU, {f.ram_mb} MB RAM, {f.gpus} GPU) "
                    "fits on none of the hosts",
                )
            )
    return problems


def raw_reference_problems(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """The cross-reference checks on unvalidated data, so that they are reported together
    with field errors rather than only once every field is valid."""
    groups = data.get("groups")
    flavors = data.get("flavors", {"m1.small": None})
    if not isinstance(groups, list) or not isinstance(flavors, dict):
        return []
    pairs = [
        (g.get("name"), g.get("flavor", GroupConfig.model_fields["flavor"].default))
        for g in groups
        if isinstance(g, dict)
    ]
    if len(pairs) != len(groups):
        return []
    problems = reference_problems(pairs, {str(k) for k in flavors})
    cloud = data.get("cloud")
    kind = cloud.get("kind", "simulated") if isinstance(cloud, dict) else "simulated"
    problems += victims_problems([g.get("victims") for g in groups], kind)
    maps = {k: cloud.get(k) for k in ("heat", "senlin")} if isinstance(cloud, dict) else {}
    serving = data.get("serving")
    served = serving.get("group") if isinstance(serving, dict) else None
    problems += named_group_problems([g.get("name") for g in groups], maps, served)
    try:  # placement checks need valid hosts and flavors; their own errors come anyway
        hosts = [HostGroupConfig.model_validate(h) for h in data.get("hosts") or []]
        valid = {str(k): FlavorConfig.model_validate(v or {}) for k, v in flavors.items()}
    except (ValidationError, TypeError):
        return problems
    placements = [
        (g.get("placement"), g.get("flavor", GroupConfig.model_fields["flavor"].default))
        for g in groups
    ]
    return problems + placement_problems(placements, valid, hosts, kind)
