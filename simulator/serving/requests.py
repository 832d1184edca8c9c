"""The Alibaba GenAI serving trace: requests (arrival, base model, GPU time, status) and
the measured base-model load latencies, as numpy arrays ready for the event loop."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

# A request without a base model id is kept, under its own name (the trace's 87th).
UNKNOWN_MODEL = "unknown"


class ServingTraceError(ValueError):
    """A serving trace cannot be used; the message says where and why, in one line."""


@dataclass(frozen=True)
class RequestTrace:
    """Requests sorted by arrival. ``arrival`` is seconds after ``start``; ``model`` indexes
    ``models`` (most requested first); ``ok`` is False for requests the trace records as
    not succeeded (failed, pending): they are served all the same, for their recorded time."""

    start: datetime
    arrival: np.ndarray
    model: np.ndarray
    exec_seconds: np.ndarray
    ok: np.ndarray
    models: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.arrival)

    def sped_up(self, speedup: float) -> RequestTrace:
        """The same requests arriving ``speedup`` times faster (GPU times unchanged)."""
        if not speedup > 0:
            raise ServingTraceError(f"arrival speedup must be positive, not {speedup}")
        return RequestTrace(
            self.start, self.arrival / speedup, self.model, self.exec_seconds, self.ok, self.models
        )

    def window(self, lo: float, hi: float) -> RequestTrace:
        """The requests arriving in [lo, hi) seconds, re-timed to start at ``lo``."""
        a, b = np.searchsorted(self.arrival, [lo, hi])
        return RequestTrace(
            self.start,
            self.arrival[a:b] - lo,
            self.model[a:b],
            self.exec_seconds[a:b],
            self.ok[a:b],
            self.models,
        )


def _fail(path: Path, line: int, message: str) -> ServingTraceError:
    return ServingTraceError(f"{path}:{line}: {message}")


def _rows(p: Path, need: set[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file that has the ``need`` columns. Raises
    ``ServingTraceError`` for a missing or unreadable file or a missing column."""
    try:
        with p.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = need - set(reader.fieldnames or ())
            if missing:
                raise _fail(p, 1, f"missing column(s) {', '.join(sorted(missing))}")
            yield from enumerate(reader, start=2)
    except FileNotFoundError:
        raise ServingTraceError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ServingTraceError(f"{p}: cannot read: {exc}") from None


def load_requests(path: str | Path) -> RequestTrace:
    """Read ``lora_request_trace.csv`` (columns ``gmt_create``, ``predict_status``,
    ``exec_time_seconds``, ``checkpoint_model_version_id``). Raises ``ServingTraceError``."""
    p = Path(path)
    stamps: list[str] = []
    names: list[str] = []
    execs: list[float] = []
    oks: list[bool] = []
    for n, row in _rows(p, {"gmt_create", "predict_status", "exec_time_seconds"}):
        try:
            e = float(row["exec_time_seconds"])
            np.datetime64(row["gmt_create"], "s")
        except (TypeError, ValueError):
            raise _fail(p, n, "gmt_create or exec_time_seconds is not valid") from None
        if not e >= 0:
            raise _fail(p, n, f"exec_time_seconds must be >= 0, not {e}")
        stamps.append(row["gmt_create"])
        execs.append(e)
        oks.append(row["predict_status"] == "SUCCEED")
        names.append(row.get("checkpoint_model_version_id") or UNKNOWN_MODEL)
    if not stamps:
        raise ServingTraceError(f"{p}: no requests")
    t = np.asarray(stamps, dtype="datetime64[s]").astype(np.int64).astype(float)  # UTC
    order = np.argsort(t, kind="stable")
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    models = tuple(sorted(counts, key=lambda m: (-counts[m], m)))
    index = {m: i for i, m in enumerate(models)}
    model = np.asarray([index[m] for m in names], dtype=np.int64)
    t0 = float(t[order[0]])
    return RequestTrace(
        datetime.fromtimestamp(t0, UTC),
        t[order] - t0,
        model[order],
        np.asarray(execs)[order],
        np.asarray(oks)[order],
        models,
    )


def load_latencies(path: str | Path) -> np.ndarray:
    """The measured base-model load latencies in seconds (column ``value``, in ms).
    Raises ``ServingTraceError``."""
    p = Path(path)
    out: list[float] = []
    for n, row in _rows(p, {"value"}):
        try:
            v = float(row["value"])
        except (TypeError, ValueError):
            raise _fail(p, n, f"value {row['value']!r} is not a number") from None
        if not v > 0:
            raise _fail(p, n, f"value must be a positive latency in ms, not {v}")
        out.append(v / 1000.0)
    if not out:
        raise ServingTraceError(f"{p}: no latencies")
    return np.asarray(out)
