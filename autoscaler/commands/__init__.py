"""Registry of CLI subcommands (imported by ``autoscaler.cli``)."""

from __future__ import annotations

import click


def COMMANDS() -> list[click.Command]:
    from autoscaler.commands.backtest import backtest
    from autoscaler.commands.check_config import check_config
    from autoscaler.commands.explain import explain
    from autoscaler.commands.forecast import forecast
    from autoscaler.commands.hash_password import hash_password
    from autoscaler.commands.init import init
    from autoscaler.commands.pause import pause, resume
    from autoscaler.commands.run import run
    from autoscaler.commands.simulate import simulate
    from autoscaler.commands.status import status

    commands: list[click.Command] = [
        simulate,
        check_config,
        forecast,
        backtest,
        run,
        status,
        explain,
        pause,
        resume,
        hash_password,
        init,
    ]
    return commands
