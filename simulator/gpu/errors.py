"""The one exception the GPU fleet simulator raises for bad input."""

from __future__ import annotations


class FleetInputError(ValueError):
    """A node list, pod list or fleet option is unusable; the message is one line
    naming the file, line and field."""
