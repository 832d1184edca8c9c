"""``autoscaler sweep GRID.yaml``: simulate every cell of a grid, on Ray or a local pool."""

from __future__ import annotations

import time
from pathlib import Path

import click

from autoscaler.commands.output_dir import prepare_output, staged_output
from autoscaler.errors import UserError


@click.command("sweep")
@click.argument("grid_path", metavar="GRID.yaml", type=str)
@click.option(
    "--engine",
    type=click.Choice(["auto", "serial", "pool", "ray"]),
    default="auto",
    help="auto: Ray when installed (the 'sweep' extra), else a local process pool.",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Local workers (default: CPUs)."
)
@click.option(
    "--address", default=None, help="Join this Ray cluster (e.g. ray://head:10001 or auto)."
)
@click.option(
    "--out", default="sweep-out", show_default=True, help="Directory for sweep.csv and sweep.json."
)
def sweep(grid_path: str, engine: str, workers: int | None, address: str | None, out: str) -> None:
    """Simulate every cell of a grid (policies x traces x boot delays x budgets x seeds)."""
    from autoscaler.sweep.engines import ray_available, run_cells
    from autoscaler.sweep.frontier import frontier_rows
    from autoscaler.sweep.grid import load_grid
    from autoscaler.sweep.table import to_csv, write_tables

    if address and engine == "auto":
        engine = "ray"
    if engine == "ray" and not ray_available():
        raise UserError(
            "--engine ray: Ray is not installed (pip install 'predictive-autoscaler[sweep]')"
        )
    if address and engine != "ray":
        raise UserError(f"--address joins a Ray cluster; it does not apply to --engine {engine}")
    cells = load_grid(Path(grid_path))
    # before the cells run: a bad --out failed only once the whole sweep had run
    prepare_output(out, ["sweep.csv", "sweep.json", "frontier.csv"])
    t0 = time.perf_counter()
    used, rows = run_cells(cells, engine, workers=workers, address=address)
    took = time.perf_counter() - t0
    front = frontier_rows(rows)  # judged when the grid has target@U and qos@B cells
    d = Path(out)
    try:
        with staged_output(d) as stage:
            write_tables(rows, stage)
            if front:
                (stage / "frontier.csv").write_text(to_csv(front))
    except OSError as exc:
        raise UserError(f"{out}: cannot write the results: {exc.strerror or exc}") from None
    click.echo(
        f"{len(rows)} cell(s) on {used} in {took:.1f}s: {d / 'sweep.csv'}, {d / 'sweep.json'}"
    )
    if front:
        path = d / "frontier.csv"
        click.echo(f"qos against the target frontier at its own violation rate: {path}")
        for r in front:
            click.echo(
                f"  {r['trace']} boot {r['boot_delay_s']:g}s {r['policy']}: "
                f"{r['slo_violation_pct']:.2f} % violations, "
                f"{r['side']}{r['vs_target_frontier']:.2f}x the frontier's instance-hours"
            )
