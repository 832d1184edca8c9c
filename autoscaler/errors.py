"""Turning the known user-facing errors into one-line messages with exit code 2."""

from __future__ import annotations

from collections.abc import Iterable

import click

from autoscaler.input_errors import InputError


class UserError(click.ClickException):
    """An error in what the user gave us: printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def as_user_error(exc: BaseException) -> UserError | None:
    """The ``UserError`` for a known user-facing exception, or None for a bug."""
    if isinstance(exc, InputError):
        return UserError(str(exc))
    return None


def require_known(names: Iterable[str], known: Iterable[str], option: str, context: str) -> None:
    """Raise ``UserError`` naming the first of ``names`` that is not in ``known``."""
    allowed = tuple(known)
    for name in names:
        if name not in allowed:
            raise UserError(f"{option}: unknown {name!r} {context} (known: {', '.join(allowed)})")
