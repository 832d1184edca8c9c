"""Turning the known user-facing errors into one-line messages with exit code 2."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import click

from autoscaler.input_errors import InputError, printable


class UserError(click.ClickException):
    """An error in what the user gave us: printed as ``error: ...``, exit code 2.

    ``lines`` holds one problem each (a config may have several); each is printed on
    its own line, control characters escaped.
    """

    exit_code = 2

    def __init__(self, message: str, lines: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.lines = list(lines) if lines is not None else [message]

    def show(self, file=None) -> None:
        for line in self.lines:
            click.echo(f"error: {printable(line)}", err=True)


def as_user_error(exc: BaseException) -> UserError | None:
    """The ``UserError`` for a known user-facing exception, or None for a bug."""
    if isinstance(exc, InputError):
        errors = getattr(exc, "errors", None)
        return UserError(str(exc), errors if isinstance(errors, list) else None)
    return None


def require_known(names: Iterable[str], known: Iterable[str], option: str, context: str) -> None:
    """Raise ``UserError`` naming the first of ``names`` that is not in ``known``."""
    allowed = tuple(known)
    for name in names:
        if name not in allowed:
            raise UserError(f"{option}: unknown {name!r} {context} (known: {', '.join(allowed)})")
