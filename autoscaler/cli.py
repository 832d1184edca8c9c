"""The ``autoscaler`` command line. Each subcommand lives in ``autoscaler/commands/``.

User errors (bad config, bad trace, bad option values) print one line to stderr and
exit with code 2; no traceback. Heavy libraries are imported inside the commands, so
``autoscaler --help`` stays fast and never imports statsmodels or torch.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from autoscaler.commands import COMMANDS
from autoscaler.errors import UserError, as_user_error


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError:
            raise
        except Exception as exc:  # translate known user errors; re-raise bugs
            user = as_user_error(exc)
            if user is None:
                raise
            raise user from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="predictive-autoscaler")
def cli() -> None:
    """Predictive autoscaler: forecast load, scale ahead of it, and simulate policies on traces."""


for _cmd in COMMANDS():
    cli.add_command(_cmd)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="autoscaler", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
