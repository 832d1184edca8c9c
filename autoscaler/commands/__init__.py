"""The table of CLI subcommands, loaded only when one is used.

Each entry names the module and the click command in it, with the first paragraph of its
docstring, which ``autoscaler --help`` lists (a test keeps the two equal). Listing the commands imports none of them, so ``--help`` never loads pandas,
pydantic or statsmodels.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class CommandEntry:
    module: str
    attr: str
    short_help: str


COMMAND_TABLE: dict[str, CommandEntry] = {
    "simulate": CommandEntry(
        "autoscaler.commands.simulate",
        "simulate",
        "Compare scaling policies on a load trace, one row per policy.",
    ),
    "check-config": CommandEntry(
        "autoscaler.commands.check_config",
        "check_config",
        "Validate the configuration file PATH; exit 0 if valid, else print every error and exit 2.",
    ),
    "forecast": CommandEntry(
        "autoscaler.commands.forecast",
        "forecast",
        "Fit MODEL on the whole trace and print the next HORIZON steps with intervals.",
    ),
    "backtest": CommandEntry(
        "autoscaler.commands.backtest",
        "backtest",
        "Score MODELS on the trace: MASE, sMAPE, MAE, 90% interval coverage, fit/predict time.",
    ),
    "run": CommandEntry(
        "autoscaler.commands.run",
        "run",
        "Run the autoscaler: evaluate every group at its interval until SIGTERM.",
    ),
    "status": CommandEntry(
        "autoscaler.commands.status",
        "status",
        "Show readiness and each group's size, last decision and cooldowns.",
    ),
    "explain": CommandEntry(
        "autoscaler.commands.explain",
        "explain",
        "Print GROUP's last decisions: inputs, forecast, each vote, guards and the outcome.",
    ),
}


def load_command(name: str) -> click.Command | None:
    """The click command called ``name``, imported now; None when there is none."""
    entry = COMMAND_TABLE.get(name)
    if entry is None:
        return None
    command = getattr(importlib.import_module(entry.module), entry.attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{entry.module}.{entry.attr} is not a click command")
    return command
