"""The sweep grid file and its cells.

```yaml
config: autoscaler.yaml     # optional: the group to simulate (its first group)
traces: [bundled, ../shared/data/wiki.csv]   # paths relative to this file
policies: [threshold, target, predictive_target]   # or target@0.4, qos@1 (see frontier.py)
boot_delays: [60s, 3m]
budgets: [20, 40]           # the group's instance budget: its max_size
seeds: [1, 2]
peak_instances: 10          # optional, as ``simulate --peak-instances``
```

Cells are the product of the five lists in that order (traces outermost); each cell
is one ``simulate`` run of one policy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from autoscaler.config.base import ConfigError, Duration, FrozenModel, loc_to_path
from autoscaler.input_errors import InputError
from autoscaler.input_files import MAX_CONFIG_BYTES, read_text_file
from autoscaler.limits import MAX_BOOT_DELAY, MAX_GROUP_SIZE, MAX_SEED
from autoscaler.safe_yaml import load_yaml

MAX_CELLS = 100_000

BUNDLED = "bundled"


class GridFile(FrozenModel):
    config: str | None = None
    traces: list[str] = Field(default_factory=lambda: [BUNDLED], min_length=1)
    policies: list[str] = Field(min_length=1)
    boot_delays: list[Duration] = Field(
        default_factory=lambda: [timedelta(minutes=3)], min_length=1
    )
    budgets: list[int] = Field(default_factory=lambda: [20], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [1], min_length=1)
    peak_instances: int | None = Field(None, ge=1, le=MAX_GROUP_SIZE)

    @model_validator(mode="after")
    def _bounds(self) -> GridFile:
        if any(b > MAX_BOOT_DELAY for b in self.boot_delays):
            raise ValueError(f"boot_delays: at most {MAX_BOOT_DELAY.days}d each")
        if any(not 1 <= b <= MAX_GROUP_SIZE for b in self.budgets):
            raise ValueError(f"budgets: each between 1 and {MAX_GROUP_SIZE}")
        if any(not 0 <= s <= MAX_SEED for s in self.seeds):
            raise ValueError(f"seeds: each between 0 and {MAX_SEED}")
        cells = (
            len(self.traces)
            * len(self.policies)
            * len(self.boot_delays)
            * len(self.budgets)
            * len(self.seeds)
        )
        if cells > MAX_CELLS:
            raise ValueError(f"the grid has {cells:,} cells; at most {MAX_CELLS:,}")
        return self


@dataclass(frozen=True)
class Cell:
    """One simulation: everything a worker needs, as plain values (it is pickled)."""

    index: int
    config: str | None  # absolute path, or None for the defaults
    trace: str  # as written in the grid (the table shows it)
    trace_path: str | None  # absolute path, None for the bundled trace
    policy: str
    boot_delay_s: float
    budget: int
    seed: int
    peak_instances: int | None


def _group_problems(path: Path, grid: GridFile, config: str) -> list[str]:
    """The grid's boot delays and default-configured policies against the config's group,
    checked as ``simulate`` checks them, before any cell runs (a cell raising it was a
    traceback at the end of the sweep)."""
    from autoscaler.config import default_group, load_config
    from autoscaler.config.policy_checks import chosen_policy, spacing_problem
    from autoscaler.registry import POLICY_DEFAULTS
    from autoscaler.simulation import ScenarioError, boot_override

    cfg = load_config(config)
    group = cfg.groups[0] if cfg.groups else default_group()  # as build_scenario's
    problems = []
    for i, boot in enumerate(grid.boot_delays):
        try:
            boot_override(group, boot, f"boot_delays[{i}]:")
        except ScenarioError as exc:
            problems.append(f"{path}: {exc}")
    # the traces are resampled to simulation.step, the spacing of the samples a cell sees
    spacing = spacing_problem(group, cfg.simulation.step)
    if spacing is not None:
        problems.append(f"{path}: config {config}: group {group.name}: {spacing}")
    for i, name in enumerate(grid.policies):
        for part in name.split("+"):
            if part not in POLICY_DEFAULTS:
                continue  # the grid's own check names it
            try:
                chosen_policy(group, part, POLICY_DEFAULTS, cfg.simulation.step)
            except ValueError as exc:
                problems.append(f"{path}: policies[{i}]: {exc}")
    return problems


def load_grid(path: Path) -> list[Cell]:
    """Read and validate a grid file. Raises ``ConfigError`` (one line per problem)."""
    try:
        raw = load_yaml(
            read_text_file(path, what="grid file", max_bytes=MAX_CONFIG_BYTES), str(path)
        )
    except InputError as exc:
        raise ConfigError([str(exc)]) from None
    try:
        grid = GridFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise ConfigError(
            [f"{path}: {loc_to_path(e['loc']) or 'grid'}: {e['msg']}" for e in exc.errors()]
        ) from None
    base = path.resolve().parent
    problems = []
    config = str((base / grid.config).resolve()) if grid.config else None
    if config is not None and not Path(config).is_file():
        problems.append(f"{path}: config: no such file {grid.config}")
    traces = []
    for i, t in enumerate(grid.traces):
        resolved = None if t == BUNDLED else str((base / t).resolve())
        if resolved is not None and not Path(resolved).is_file():
            problems.append(f"{path}: traces[{i}]: no such file {t}")
        traces.append((t, resolved))
    from autoscaler.registry import POLICY_DEFAULTS
    from autoscaler.sweep.frontier import parse_variant

    for i, name in enumerate(grid.policies):
        try:
            if parse_variant(name) is not None:
                continue
        except ValueError as exc:
            problems.append(f"{path}: policies[{i}]: {exc}")
            continue
        unknown = [p for p in name.split("+") if p not in POLICY_DEFAULTS]
        if name != "oracle" and unknown:
            known = ", ".join(["oracle", *sorted(POLICY_DEFAULTS)])
            problems.append(
                f"{path}: policies[{i}]: unknown policy {unknown[0]!r} (known: {known})"
            )
    if config is not None and not problems:
        problems += _group_problems(path, grid, config)
    if problems:
        raise ConfigError(problems)
    product = itertools.product(traces, grid.policies, grid.boot_delays, grid.budgets, grid.seeds)
    return [
        Cell(i, config, t, tp, p, b.total_seconds(), budget, seed, grid.peak_instances)
        for i, ((t, tp), p, b, budget, seed) in enumerate(product)
    ]
