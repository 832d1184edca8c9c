"""The GPU fleet part of ``autoscaler simulate``: ``--fleet NODES --trace PODS ...``.

``simulate`` applies ``FLEET_OPTIONS`` (or ``fleet_options``) and, when ``--fleet`` is
given, calls ``run_fleet(trace, out, seed, **fleet_opts)``, which prints one row per
policy (fragmentation mode) or per configuration (time mode) and, with ``--out``,
writes ``summary.json``, ``allocation.png`` and in time mode ``jct_cdf.png``.
Bad input (missing file, bad columns, unknown policy) is a ``UserError``: one line,
exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from autoscaler.commands.output_dir import prepare_output, written_output
from autoscaler.durations import parse_duration
from autoscaler.errors import UserError, require_known
from autoscaler.simulator.gpu.placement import POLICY_NAMES

PLACEMENTS = POLICY_NAMES
SCHEDULERS = ("fifo", "sjf", "priority", "tiresias", "gittins")
ALLOCATIONS = ("request", "proportional", "synergy")
DEFAULT_SEED = 42

FLEET_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option(
        "--fleet",
        type=click.Path(dir_okay=False),
        default=None,
        help="GPU fleet: an openb node-list CSV or a fleet YAML; turns on the GPU fleet simulator "
        "(--trace is then an openb pod list).",
    ),
    click.option(
        "--mode",
        type=click.Choice(["fragmentation", "time"]),
        default="fragmentation",
        show_default=True,
        help="fragmentation: pods never leave, load grows to --load-pct; time: pods arrive and "
        "finish at trace times.",
    ),
    click.option(
        "--scheduler",
        "schedulers",
        type=click.Choice(SCHEDULERS),
        multiple=True,
        help="Time mode queue order (repeatable); default all: fifo, sjf (clairvoyant), "
        "priority, tiresias (2D-LAS), gittins (index learned online).",
    ),
    click.option(
        "--load-pct",
        type=click.IntRange(1, 300),
        default=130,
        show_default=True,
        help="Fragmentation mode: submit pods worth this % of the cluster's GPUs.",
    ),
    click.option(
        "--seeds",
        type=click.IntRange(1, 100),
        default=1,
        show_default=True,
        help="Fragmentation mode: runs per policy, seeds --seed .. --seed+N-1 (curves averaged).",
    ),
    click.option(
        "--migration/--no-migration",
        default=False,
        show_default=True,
        help=(
            "Time mode: move running pods to defragment when a pod fits nowhere, and"
            " while none waits when that lowers fragmentation."
        ),
    ),
    click.option(
        "--migration-cost",
        default="60s",
        show_default=True,
        help="Time mode: pause of a migrated pod (duration, e.g. 30s, 2m).",
    ),
    click.option(
        "--preemption/--no-preemption",
        default=None,
        help="Time mode: a waiting job evicts running jobs it outranks (LAS queue, Gittins "
        "index, LS over BE) [default: on with the priority scheduler only].",
    ),
    click.option(
        "--preemption-cost",
        default="30s",
        show_default=True,
        help="Time mode: checkpoint and restore pause of a preempted job (duration).",
    ),
    click.option(
        "--borrow-quota/--no-borrow-quota",
        default=False,
        show_default=True,
        help="Time mode: partitions borrow idle quota, returned by preemption when needed.",
    ),
    click.option(
        "--synergy-profiles",
        type=click.Path(dir_okay=False),
        default=None,
        help="Time mode: Synergy's profiles.json for --allocation proportional|synergy "
        "[default: ../shared/data/synergy-profiles/profiles.json].",
    ),
    click.option(
        "--arrival-speedup",
        type=click.FloatRange(min=0, min_open=True),
        default=1.0,
        show_default=True,
        help="Time mode: divide arrival times by this factor (durations unchanged).",
    ),
    click.option(
        "--allocation",
        type=click.Choice(ALLOCATIONS),
        default="request",
        show_default=True,
        help="Time mode: CPU and memory for GPU jobs: as requested, GPU-proportional, or "
        "Synergy's greedy tuning from the profiled jobs (speed from the profiles).",
    ),
]


def fleet_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Apply every option of ``FLEET_OPTIONS`` to a click command function."""
    for option in reversed(FLEET_OPTIONS):
        f = option(f)
    return f


def run_fleet(trace: str | None, out: str | None, seed: int | None, **fleet_opts: Any) -> None:
    """Run the GPU fleet simulator as the options say; print the table; with ``out``
    write ``summary.json`` and the plots there. ``seed`` None means 42 (the first of the
    FGD paper's seeds). Raises ``UserError`` for bad input."""
    seed = DEFAULT_SEED if seed is None else seed
    from autoscaler.simulator.gpu.errors import FleetInputError
    from autoscaler.simulator.gpu.fleet import load_fleet
    from autoscaler.simulator.gpu.pods import check_pods_fit, load_pods

    fleet_path = fleet_opts.get("fleet")
    if not fleet_path:
        raise UserError("--fleet NODES.csv|FLEET.yaml is required for the GPU fleet simulator")
    if not trace:
        raise UserError("--trace PODS.csv (an openb pod list) is required with --fleet")
    try:
        fleet = load_fleet(fleet_path)
        pods = load_pods(trace)
        check_pods_fit(pods, fleet, trace)
    except FleetInputError as exc:
        raise UserError(str(exc)) from None
    # checked before the run, written at its end (a folder made first was left empty
    # when the run then failed)
    out_dir = (
        prepare_output(out, ["summary.json", "allocation.png", "jct_cdf.png"]) if out else None
    )
    mode = fleet_opts.get("mode", "fragmentation")
    if mode == "fragmentation":
        _fragmentation(fleet, pods, seed, fleet_opts, out_dir)
    else:
        _time(fleet, pods, seed, fleet_opts, out_dir)


def _fragmentation(
    fleet: Any, pods: Any, seed: int, opts: dict[str, Any], out: Path | None
) -> None:
    from autoscaler.simulator.gpu.frag_replay import run_fragmentation
    from autoscaler.simulator.gpu.fragmentation import typical_pods
    from autoscaler.simulator.gpu.report import (
        fragmentation_summary,
        fragmentation_table,
        plot_allocation,
    )

    if fleet.total_gpus == 0:
        raise UserError(f"{opts['fleet']}: the fleet has no GPUs")
    placements = opts.get("placements") or ("random", "best_fit", "fgd")
    require_known(placements, PLACEMENTS, "--placement", "with --fleet")
    typical = typical_pods(pods, fleet.models)
    load = int(opts.get("load_pct", 130))
    seeds = range(seed, seed + int(opts.get("seeds", 1)))
    runs = {
        name: [run_fragmentation(fleet, pods, name, s, load, typical) for s in seeds]
        for name in placements
    }
    click.echo(
        f"GPU fleet, fragmentation mode: {fleet.size} nodes, {fleet.total_gpus} GPUs, "
        f"{len(pods)} trace pods, load to {load}%, seeds {seeds.start}..{seeds.stop - 1}"
    )
    click.echo(fragmentation_table(runs))
    if out is not None:
        with written_output(out) as stage:
            (stage / "summary.json").write_text(json.dumps(fragmentation_summary(runs), indent=2))
            plot_allocation(runs, stage / "allocation.png")
        click.echo(f"wrote {out / 'summary.json'} and {out / 'allocation.png'}")


def _time(fleet: Any, pods: Any, seed: int, opts: dict[str, Any], out: Path | None) -> None:
    from autoscaler.simulator.gpu.report import plot_time, time_summary, time_table
    from autoscaler.simulator.gpu.time_replay import TimeConfig, run_time

    if not pods.has_times:
        raise UserError(
            f"{opts.get('fleet')}: time mode needs creation_time/deletion_time in the trace"
        )
    costs = {}
    for name, default in (("migration_cost", "60s"), ("preemption_cost", "30s")):
        try:
            costs[name] = parse_duration(opts.get(name) or default).total_seconds()
        except ValueError as exc:
            raise UserError(f"--{name.replace('_', '-')}: {exc}") from None
    allocation = opts.get("allocation", "request")
    profiles = _profiles(opts) if allocation != "request" else None
    runs = []
    placements = opts.get("placements") or ("best_fit",)
    require_known(placements, PLACEMENTS, "--placement", "with --fleet")
    for placement in placements:
        for scheduler in opts.get("schedulers") or SCHEDULERS:
            cfg = TimeConfig(
                placement=placement,
                scheduler=scheduler,
                preemption=opts.get("preemption"),
                preemption_cost_s=costs["preemption_cost"],
                migration=bool(opts.get("migration", False)),
                migration_cost_s=costs["migration_cost"],
                arrival_speedup=float(opts.get("arrival_speedup", 1.0)),
                allocation=allocation,
                borrowing=bool(opts.get("borrow_quota", False)),
                seed=seed,
            )
            runs.append(run_time(fleet, pods, cfg, profiles))
    click.echo(
        f"GPU fleet, time mode: {fleet.size} nodes, {fleet.total_gpus} GPUs, {len(pods)} pods, "
        f"arrivals sped up x{opts.get('arrival_speedup', 1.0):g}"
    )
    click.echo(time_table(runs))
    if out is not None:
        with written_output(out) as stage:
            (stage / "summary.json").write_text(json.dumps(time_summary(runs), indent=2))
            plot_time(runs, stage / "allocation.png", stage / "jct_cdf.png")
        click.echo(f"wrote {out / 'summary.json'}, {out / 'allocation.png'}, {out / 'jct_cdf.png'}")


def _profiles(opts: dict[str, Any]) -> Any:
    from autoscaler.simulator.gpu.synergy_profiles import (
        ProfileError,
        default_profiles_path,
        load_profiles,
    )

    path = opts.get("synergy_profiles") or default_profiles_path()
    try:
        return load_profiles(path)
    except ProfileError as exc:
        raise UserError(f"--synergy-profiles: {exc}") from None
