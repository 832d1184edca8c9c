"""The trailing window of a growing series, extended in amortised constant time.

``np.concatenate([values, new])[-keep:]`` copies the whole window at every append: a
week of samples at every decision. ``Trailing.extend`` gives the same array, written
into a buffer with room for ``keep`` more values, so an append copies only the new
values and the window is copied once per ``keep`` appended values.

A window handed out is a view that no later ``extend`` ever writes into: appends go
after the newest window's end, and a full buffer is replaced, not shifted. So a model
may keep a window it was given (as a fit keeps its training values).
"""

from __future__ import annotations

import numpy as np


class Trailing:
    """Keeps the last ``keep`` values (``keep`` >= 1) of a series grown by ``extend``.

    Not part of any stored model: its owners drop it when pickled (see
    ``BaseForecaster.__getstate__``) and build a new one from the plain window.
    """

    __slots__ = ("_buf", "_start", "_stop", "_view", "keep")

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self.keep = int(keep)
        self._buf = np.empty(0)
        self._start = self._stop = 0
        self._view: np.ndarray | None = None  # the window last handed out

    def extend(self, values: np.ndarray, new: np.ndarray) -> np.ndarray:
        """``np.concatenate([values, new])[-keep:]`` as float64 (the same values).

        ``values`` is the window the caller holds: when it is the one this object last
        returned, only ``new`` is copied; any other array (a window reset or restored
        by its owner) starts a new buffer from it.
        """
        new = np.asarray(new, dtype=float)
        n, keep = len(new), self.keep
        if values is not self._view or self._buf.dtype != np.float64:
            old = np.asarray(values, dtype=float)[-keep:]
            self._refill(old, new)
        elif self._stop + n <= len(self._buf):
            self._buf[self._stop : self._stop + n] = new
            self._stop += n
            self._start = max(self._start, self._stop - keep)
        else:
            self._refill(self._buf[self._start : self._stop], new)
        self._view = self._buf[self._start : self._stop]
        return self._view

    def _refill(self, old: np.ndarray, new: np.ndarray) -> None:
        """A fresh buffer holding the last ``keep`` values of ``old`` then ``new``, with
        room for ``keep`` more after them."""
        keep = self.keep
        tail = new[-keep:]
        head = old[len(old) - min(len(old), keep - len(tail)) :]
        used = len(head) + len(tail)
        buf = np.empty(used + keep)
        buf[: len(head)] = head
        buf[len(head) : used] = tail
        self._buf, self._start, self._stop = buf, 0, used


def trailing_for(trail: Trailing | None, keep: int) -> Trailing:
    """``trail`` when it keeps ``keep`` values, else a new ``Trailing(keep)`` (a window
    whose length changed starts a new buffer)."""
    return trail if trail is not None and trail.keep == keep else Trailing(keep)
