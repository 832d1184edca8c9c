"""Registry of CLI subcommands (imported by ``autoscaler.cli``)."""

from __future__ import annotations

import click


def COMMANDS() -> list[click.Command]:
    from autoscaler.commands.backtest import backtest
    from autoscaler.commands.check_config import check_config
    from autoscaler.commands.forecast import forecast
    from autoscaler.commands.simulate import simulate

    commands: list[click.Command] = [simulate, check_config, forecast, backtest]
    return commands
