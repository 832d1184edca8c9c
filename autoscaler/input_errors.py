"""The base of every error in what a user gave us (config, trace, option, file).

Kept free of imports so that the CLI can recognise these errors without loading the
modules that raise them (pydantic, pandas): ``autoscaler --help`` stays fast.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad user input. ``str(exc)`` is the message: one line per problem, each saying
    what is wrong and where (file:line, field or option)."""


def printable(text: str) -> str:
    """``text`` with every control character (a newline, a carriage return, an escape)
    written as its escape, so that a user's odd input cannot break or forge the line an
    error is printed on."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
