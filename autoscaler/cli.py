"""The ``autoscaler`` command line. Each subcommand lives in ``autoscaler/commands/``.

User errors (bad config, bad trace, bad option values) print one line to stderr and
exit with code 2; no traceback. Subcommands are imported only when one runs, so
``autoscaler --help`` and ``autoscaler status`` load neither pandas, pydantic nor
statsmodels (``bench/cli_startup.py`` measures it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from typing import Any

import click

from autoscaler.commands import COMMAND_TABLE, load_command
from autoscaler.errors import UserError, as_user_error, printable


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_TABLE)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing uses the table's one-line help, so that it imports no command.
        rows = [(name, COMMAND_TABLE[name].short_help) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


# The models' matrices are a few states wide: a multi-threaded BLAS only spins its
# threads on them (on 2 busy cores an ARIMA fit took 7 s instead of 2). Parallelism is
# across groups (``fit_pool``: worker processes), not inside one small product.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_thread_blas(environ: MutableMapping[str, str]) -> None:
    """Default the BLAS libraries to one thread in ``environ``, unless already set. Takes
    effect only when done before numpy is imported (``main`` does it first)."""
    for name in BLAS_THREADS:
        environ.setdefault(name, "1")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. A usage error (a bad option value, an unknown command) is one line
    naming the option, exit code 2, like every other user error."""
    single_thread_blas(os.environ)
    try:
        code = cli.main(args=argv, prog_name="autoscaler", standalone_mode=False)
    except click.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        click.echo(f"error: {printable(where + exc.format_message())}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
