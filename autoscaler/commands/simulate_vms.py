"""``autoscaler simulate --vms DIR``: replay per-VM CPU traces onto hosts, per placement policy.

The simulate command adds ``VMS_OPTIONS`` to itself and calls ``run_vms`` when ``--vms``
is given. Prints one row per placement policy; with ``--out`` writes ``vms_summary.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from autoscaler.commands.options import FiniteFloat
from autoscaler.commands.output_dir import staged_output
from autoscaler.errors import UserError, require_known
from autoscaler.limits import MAX_HOSTS

VM_PLACEMENTS = ("spread", "pack", "interference_aware")

VMS_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option(
        "--vms",
        "vms_dir",
        type=str,
        default=None,
        help="Directory of per-VM CPU traces (one % a line, 5 min apart, e.g. PlanetLab): "
        "replay them onto hosts per placement policy instead of scaling a group.",
    ),
    click.option(
        "--vm-count",
        type=click.IntRange(1, 10**6),
        default=None,
        help="Use the first N VM traces (default all).",
    ),
    click.option(
        "--hosts",
        "host_count",
        type=click.IntRange(1, MAX_HOSTS),
        default=None,
        help="Number of hosts in the default pool (default: one per 4 VMs; "
        "ignored when the config has a hosts: section).",
    ),
    click.option(
        "--contention-threshold",
        type=FiniteFloat(0.01, 1),
        default=None,
        help="Host CPU fraction above which colocated VMs contend (default 0.8).",
    ),
    click.option(
        "--consolidate/--no-consolidate",
        default=None,
        help="Whether interference_aware also drains its least-loaded hosts at each "
        "rebalance (default: placement.consolidate in the config, on).",
    ),
]
# the keyword names of VMS_OPTIONS, which the simulate command hands to run_vms
VM_OPTION_NAMES = ("vm_count", "host_count", "contention_threshold", "consolidate")


def _rows(results: list[dict]) -> str:
    head = (
        f"{'placement':<20}{'placed':>7}{'hosts mean':>11}{'peak':>6}{'>100% min':>11}"
        f"{'>thr min':>10}{'VM-min hit':>12}{'off hot':>9}{'consol.':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['policy']:<20}{r['placed']:>7}{r['hosts_used_mean']:>11.1f}"
            f"{r['hosts_used_peak']:>6}{r['overload_minutes']:>11.0f}"
            f"{r['contention_minutes']:>10.0f}{r['vm_minutes_affected']:>12.0f}"
            f"{r['moved_off_hot']:>9}{r['consolidated']:>9}"
        )
    return "\n".join(lines)


def run_vms(
    vms_dir: str,
    out: str | None,
    seed: int | None,
    config_path: str | None,
    **opts: Any,
) -> None:
    """Replay the VM traces in ``vms_dir`` for each placement policy; print a table and
    write ``vms_summary.json`` under ``out``. Raises ``UserError`` for bad input."""
    import numpy as np

    from autoscaler.config import Config, load_config
    from autoscaler.durations import format_duration
    from autoscaler.placement.policies import build_placement
    from autoscaler.placement.rebalance import Consolidation
    from autoscaler.registry import build_flavor, build_hosts
    from autoscaler.simulator.plots import PlottedPlacement, plot_vm_replay
    from autoscaler.simulator.vm_replay import VmTraces, host_pool, load_vm_traces, replay
    from autoscaler.traces import TraceError

    config = load_config(config_path) if config_path else Config()
    pc = config.placement
    vm_count = opts.get("vm_count")
    if vm_count is not None and vm_count < 1:
        raise UserError(f"--vm-count must be at least 1, not {vm_count}")
    threshold = opts.get("contention_threshold")
    threshold = pc.contention_threshold if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise UserError(f"--contention-threshold must be in (0, 1], not {threshold}")
    if opts.get("consolidate") is not None:
        pc = pc.model_copy(update={"consolidate": opts["consolidate"]})
    try:
        below = pc.consolidation_target(threshold)
    except ValueError as exc:
        raise UserError(f"placement.{exc}") from None
    consolidation = None if below is None else Consolidation(below, pc.consolidate_max_moves)
    fcfg = config.flavors.get(pc.vm_flavor)
    if fcfg is None:
        known = ", ".join(sorted(config.flavors))
        raise UserError(f"placement.vm_flavor: unknown flavor {pc.vm_flavor!r} (known: {known})")
    flavor = build_flavor(pc.vm_flavor, fcfg)
    try:
        traces = load_vm_traces(vms_dir, vm_count)
    except TraceError as exc:
        raise UserError(str(exc)) from None
    # the arrival order matters to every greedy placement: the seed fixes it
    order = np.random.default_rng(0 if seed is None else seed).permutation(len(traces.names))
    traces = VmTraces(tuple(traces.names[i] for i in order), traces.cpu[order], traces.step)

    if config.hosts:
        hosts = build_hosts(config.hosts)
    else:
        count = opts.get("host_count")
        count = math.ceil(len(traces.names) / 4) if count is None else count
        if count < 1:
            raise UserError(f"--hosts must be at least 1, not {count}")
        hosts = host_pool(count)

    names = list(dict.fromkeys(opts.get("placements") or ())) or list(VM_PLACEMENTS)
    require_known(names, VM_PLACEMENTS, "--placement", "with --vms")
    results = []
    timelines = {}
    for name in names:
        policy = build_placement(name, threshold, pc.quantile)
        try:
            r = replay(
                policy,
                traces,
                hosts,
                flavor,
                threshold=threshold,
                history=pc.history,
                rebalance=pc.rebalance_every,
                consolidation=consolidation,
            )
        except TraceError as exc:
            raise UserError(str(exc)) from None
        results.append(r.as_dict())
        timelines[name] = (r.hosts_used, r.hot_hosts, r.vms_affected)

    n_steps = traces.cpu.shape[1]
    click.echo(
        f"{len(traces.names)} VMs from {vms_dir}, {n_steps} samples of "
        f"{traces.step.total_seconds() / 60:.0f} min; {len(hosts)} hosts; flavor {flavor.name} "
        f"({flavor.vcpus} vCPU); contention threshold {threshold:.0%}; "
        f"placed after {format_duration(pc.history)}, judged over the rest"
    )
    if "interference_aware" in names:
        click.echo(
            f"interference_aware rebalances every {format_duration(pc.rebalance_every)}: moves VMs off "
            f"hosts predicted above {threshold:.0%}"
            + (
                f", drains the least-loaded hosts onto others kept under {below:.0%} "
                f"(at most {pc.consolidate_max_moves} such moves each time)"
                if below is not None
                else "; consolidation off"
            )
        )
    click.echo(_rows(results))
    unplaced = [r for r in results if r["unplaced"]]
    for r in unplaced:
        click.echo(f"note: {r['policy']} could not place {r['unplaced']} VM(s): the hosts are full")
    if out:
        d = Path(out)
        try:
            with staged_output(d) as stage:
                summary = {
                    "vms": len(traces.names),
                    "steps": n_steps,
                    "step_minutes": traces.step.total_seconds() / 60,
                    "hosts": len(hosts),
                    "flavor": flavor.name,
                    "contention_threshold": threshold,
                    "consolidate_below": below,
                    "consolidate_max_moves": pc.consolidate_max_moves if below is not None else 0,
                    "seed": 0 if seed is None else seed,
                    "policies": {r["policy"]: r for r in results},
                }
                (stage / "vms_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
                plot_vm_replay(
                    stage / "vms.png",
                    {n: PlottedPlacement(*t) for n, t in timelines.items()},
                    step_seconds=traces.step.total_seconds(),
                    threshold=threshold,
                    hosts=len(hosts),
                    title=f"{len(traces.names)} VMs from {Path(vms_dir).name} on {len(hosts)} hosts",
                )
        except OSError as exc:
            raise UserError(f"{d}: cannot write the summary: {exc.strerror}") from None
        click.echo(f"wrote {d / 'vms_summary.json'} and {d / 'vms.png'}")
