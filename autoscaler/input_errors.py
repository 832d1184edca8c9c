"""The base of every error in what a user gave us (config, trace, option, file).

Kept free of imports so that the CLI can recognise these errors without loading the
modules that raise them (pydantic, pandas): ``autoscaler --help`` stays fast.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad user input. ``str(exc)`` is the message: one line per problem, each saying
    what is wrong and where (file:line, field or option)."""
