"""``autoscaler simulate``: replay a trace through the engine against the simulated cloud."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from autoscaler.commands.options import INSTANCES, SEED, DurationType, FiniteFloat
from autoscaler.commands.output_dir import prepare_output, staged_output
from autoscaler.commands.simulate_fleet import PLACEMENTS, fleet_options, run_fleet
from autoscaler.commands.simulate_vms import VM_OPTION_NAMES, VM_PLACEMENTS, VMS_OPTIONS, run_vms
from autoscaler.errors import UserError
from autoscaler.limits import MAX_BOOT_DELAY, MAX_CAPACITY, MAX_STEP, MIN_STEP

if TYPE_CHECKING:  # the CLI's start-up imports no numpy
    from autoscaler.decisions import DecisionRow


def vms_options(f):
    for option in reversed(VMS_OPTIONS):
        f = option(f)
    return f


@click.command("simulate")
@click.option(
    "--trace",
    "trace_path",
    type=str,
    default=None,
    help="CSV trace (default: the bundled NASA week).",
)
@click.option("--column", default=None, help="Value column of the trace.")
@click.option(
    "--step",
    type=DurationType(MIN_STEP, MAX_STEP),
    default=None,
    help="Simulation step (default from config, 1m); also the sample interval of a trace without timestamps.",
)
@click.option(
    "--fill", type=click.Choice(["zero", "previous"]), default=None, help="Fill gaps in the trace."
)
@click.option(
    "--peak-instances",
    type=INSTANCES,
    default=None,
    help="Rescale so the peak needs N instances at full capacity.",
)
@click.option(
    "--scale",
    type=FiniteFloat(0, MAX_CAPACITY, low_open=True),
    default=None,
    help="Multiply the trace by F to get load per second.",
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    help=(
        "Policy to compare (repeatable; default threshold, target, predictive_threshold,"
        " predictive_target, qos, oracle)."
    ),
)
@click.option(
    "--config", "config_path", type=str, default=None, help="Config file (first group, or --group)."
)
@click.option("--group", default=None, help="Which group of the config to simulate.")
@click.option(
    "--boot-delay",
    type=DurationType(timedelta(0), MAX_BOOT_DELAY),
    default=None,
    help="Override the group's boot delay (e.g. 10m).",
)
@click.option("--seed", type=SEED, default=None, help="Random seed (default from config).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Write summary.json, timeseries.csv, simulation.png here.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: on when stderr is a terminal).",
)
@click.option(
    "--placement",
    "placements",
    multiple=True,
    help=f"Placement policy to compare (repeatable): with --fleet one of {', '.join(PLACEMENTS)}; "
    f"with --vms one of {', '.join(VM_PLACEMENTS)}.",
)
@fleet_options
@vms_options
def simulate(
    trace_path: str | None,
    column: str | None,
    step,
    fill: str | None,
    peak_instances: int | None,
    scale: float | None,
    policies: tuple[str, ...],
    config_path: str | None,
    group: str | None,
    boot_delay,
    seed: int | None,
    out: str | None,
    progress: bool | None,
    **fleet_opts: object,
) -> None:
    """Compare scaling policies on a load trace, one row per policy.

    With --fleet, simulate a GPU fleet instead: --trace is then a pod list, and
    placement (and in time mode scheduling) policies are compared.
    """
    vms_dir = fleet_opts.pop("vms_dir", None)
    vm_opts = {k: fleet_opts.pop(k) for k in VM_OPTION_NAMES}
    placements = fleet_opts.pop("placements")
    if fleet_opts.get("fleet") and vms_dir:
        raise UserError("give --fleet or --vms, not both")
    if fleet_opts.get("fleet"):
        run_fleet(trace_path, out, seed, placements=placements, **fleet_opts)
        return
    if vms_dir:
        run_vms(vms_dir, out, seed, config_path, placements=placements, **vm_opts)
        return
    if placements:
        raise UserError("--placement applies to --fleet or --vms")
    from autoscaler.config import Config, load_config
    from autoscaler.decisions import write_decisions
    from autoscaler.simulation import (
        DEFAULT_POLICIES,
        ScenarioError,
        build_scenario,
    )
    from autoscaler.simulation import (
        simulate as run,
    )
    from autoscaler.simulator.plots import PlottedRun, plot_simulation
    from autoscaler.simulator.report import format_table, write_summary, write_timeseries
    from autoscaler.traces import load_trace

    config = load_config(config_path) if config_path else Config()
    # --arrival-speedup (shared with --fleet) overrides serving.arrival_speedup when given
    given = click.get_current_context().get_parameter_source("arrival_speedup")
    speedup = fleet_opts.get("arrival_speedup") if given == ParameterSource.COMMANDLINE else None
    if config.serving is not None:
        from autoscaler.commands.simulate_serving import run_serving

        run_serving(config, out, seed, policies, speedup)  # type: ignore[arg-type]
        return
    if speedup is not None:
        raise UserError("--arrival-speedup applies to --fleet or a config with a serving: section")
    if out:
        prepare_output(out, ["summary.json", "timeseries.csv", "decisions.csv", "simulation.png"])
    sim_step = step if step is not None else config.simulation.step
    path = trace_path or config.simulation.trace
    trace = load_trace(
        path,
        column=column or config.simulation.column,
        step=sim_step,
        fill=fill or config.simulation.fill,
        resample=sim_step,
    )
    names = list(dict.fromkeys(policies)) or list(DEFAULT_POLICIES)
    try:
        scn = build_scenario(
            trace,
            config,
            group=group,
            peak_instances=peak_instances,
            scale=scale,
            seed=seed,
            boot_delay=boot_delay,
        )
        total = len(scn.load) * len(names)
        show = sys.stderr.isatty() if progress is None else progress
        if show and total > 50_000:
            from tqdm import tqdm

            with tqdm(
                total=total, unit="step", desc="simulating", file=sys.stderr, leave=False
            ) as bar:
                result = run(scn, names, progress=bar.update)
        else:
            result = run(scn, names)
    except ScenarioError as exc:
        raise UserError(str(exc)) from None
    failed = engine_failures({n: r.decisions for n, r in result.runs.items()})
    if failed:
        raise UserError(failed)

    summary = result.summary()
    click.echo(
        f"trace {scn.trace.name}: {len(scn.load):,} steps of {scn.step.total_seconds():.0f}s, "
        f"scale factor {scn.scale_factor:.4g} (peak {summary['trace']['peak_load_per_s']:.0f}/s, "
        f"{scn.spec.capacity_per_instance:g}/s per instance), SLO p95 <= {scn.service.slo_seconds * 1000:.0f} ms, "
        f"boot delay {scn.boot.median.total_seconds():.0f}s"
    )
    for note in scn.trace.notes:
        click.echo(f"note: {note}")
    click.echo(format_table(summary["policies"]))
    if out:
        d = Path(out)
        try:
            series = {n: (r.ready, r.booting, r.score.violations) for n, r in result.runs.items()}
            index = scn.trace.series.index
            with staged_output(d) as stage:
                write_summary(stage / "summary.json", summary)
                write_decisions(
                    stage / "decisions.csv",
                    ((n, row) for n, r in result.runs.items() for row in r.decisions),
                )
                hosts = {
                    n: r.hosts_used for n, r in result.runs.items() if r.hosts_used is not None
                }
                write_timeseries(
                    stage / "timeseries.csv",
                    index,
                    scn.load,
                    scn.spec.capacity_per_instance,
                    series,
                    hosts or None,
                )
                plot_simulation(
                    stage / "simulation.png",
                    index,
                    result.required,
                    {n: PlottedRun(*s) for n, s in series.items()},
                    step_seconds=scn.step.total_seconds(),
                    price_per_hour=scn.price_per_hour,
                    title=f"{scn.trace.name}: instances needed for the SLO against instances provisioned",
                )
            click.echo(
                f"wrote {d / 'summary.json'}, {d / 'timeseries.csv'}, {d / 'decisions.csv'}, "
                f"{d / 'simulation.png'}"
            )
        except OSError as exc:
            raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}") from None


def engine_failures(decisions: Mapping[str, Sequence[DecisionRow]]) -> str | None:
    """One line on the first policy run whose ticks failed in the engine, or None.

    The engine keeps going when a tick raises (one bad group never stops the others);
    in a simulation such a run scores a group that never acted, so its row is no result
    (a lognormal boot delay of 0s failed every tick and reported 86 % violations).
    """
    for name, rows in decisions.items():
        bad = [r for r in rows if r.reason.startswith("error at engine:")]
        if bad:
            first = bad[0]
            return (
                f"policy {name}: {len(bad)} of {len(rows)} ticks failed in the engine (first "
                f"at {first.at.isoformat()}: {first.reason.removeprefix('error at engine: ')})"
            )
    return None
