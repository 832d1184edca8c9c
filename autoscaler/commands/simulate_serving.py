"""``autoscaler simulate`` on a config with a ``serving:`` section: the GPU serving
scenario (see ``autoscaler.serving_simulation``)."""

from __future__ import annotations

import json

import click

from autoscaler.commands.output_dir import prepare_output, written_output
from autoscaler.config import Config
from autoscaler.errors import UserError


def run_serving(
    config: Config,
    out: str | None,
    seed: int | None,
    policies: tuple[str, ...],
    speedup: float | None,
) -> None:
    """Simulate, print the table, and write summary.json and serving_day.png to ``out``."""
    from autoscaler.serving_simulation import (
        DEFAULT_SERVING_POLICIES,
        ServingScenarioError,
        build_serving_scenario,
        simulate_serving,
    )
    from autoscaler.simulator.serving.report import busiest_day, format_table, plot_day
    from autoscaler.simulator.serving.requests import (
        ServingTraceError,
        load_latencies,
        load_requests,
    )

    assert config.serving is not None
    if speedup is not None and not 0 < speedup <= 1000:  # before the trace is read
        raise UserError(f"--arrival-speedup must be in (0, 1000], not {speedup}")
    d = prepare_output(out, ["summary.json", "serving_day.png"]) if out else None
    try:
        trace = load_requests(config.serving.requests)
        latencies = load_latencies(config.serving.load_latencies)
        scn = build_serving_scenario(config, trace, latencies, speedup=speedup, seed=seed)
        names = list(dict.fromkeys(policies)) or list(DEFAULT_SERVING_POLICIES)
        result = simulate_serving(scn, names)
    except (ServingTraceError, ServingScenarioError) as exc:
        raise UserError(str(exc)) from None
    summary = result.summary()
    sv = summary["serving"]
    click.echo(
        f"{summary['trace']['requests']:,} requests over {summary['trace']['span_seconds'] / 3600:.1f} h "
        f"(arrival speedup {scn.serving.arrival_speedup:g}), "
        f"{sv['groups']} group(s) ({sv['layout']}), SLO p95 wait + cold start <= {sv['slo_p95_seconds']:g} s"
    )
    click.echo(format_table(summary["policies"]))
    if d is None or out is None:
        return
    day = (
        scn.serving.plot_day if scn.serving.plot_day is not None else busiest_day(scn.trace.arrival)
    )
    with written_output(out) as stage:
        text = json.dumps(summary, indent=2) + "\n"
        (stage / "summary.json").write_text(text, encoding="utf-8")
        plot_day(
            stage / "serving_day.png",
            day,
            scn.trace.arrival,
            {n: (r.cluster.replica_log, r.latency) for n, r in result.runs.items()},
            scn.serving.slo.total_seconds(),
            f"GenAI serving, {sv['layout']} layout: day {day}",
        )
    click.echo(f"wrote {d / 'summary.json'}, {d / 'serving_day.png'}")
