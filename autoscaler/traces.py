"""Loading load traces from CSV files, validating them, and resampling to a step.

Two layouts are read:

* ``timestamp,<value>[,...]`` with a header row (NAB, the NASA per-minute trace);
  timestamps ISO 8601 or ``YYYY-MM-DD HH:MM:SS``, naive ones taken as UTC.
* one number per line and no timestamps (PlanetLab), given ``step``; sample ``i``
  is at ``start + i * step``.

Every problem raises ``TraceError`` with one line naming the file, the line and what
is wrong. Nothing here prints or exits: the CLI turns the error into exit code 2.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from autoscaler.durations import format_duration
from autoscaler.input_errors import InputError
from autoscaler.input_files import MAX_TRACE_BYTES, InputFileError, read_text_file
from autoscaler.limits import MAX_TRACE_VALUE

TIMESTAMP_COLUMNS = ("timestamp", "time", "datetime", "date", "ts")
BUNDLED_TRACE = "nasa_http_1995_week.csv"
DEFAULT_START = datetime(2011, 3, 3, tzinfo=UTC)  # PlanetLab's day; any fixed origin works


# Steps a trace may have after gap filling or resampling (the full NASA trace has 89k).
MAX_TRACE_POINTS = 20_000_000


class TraceError(InputError):
    """A trace cannot be used; the message is one line saying where and why."""


@dataclass(frozen=True)
class Gap:
    start: datetime  # first missing step
    end: datetime  # last missing step
    steps: int

    def describe(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} ({self.steps} steps)"


@dataclass(frozen=True)
class Trace:
    """A validated, regularly spaced trace. ``series`` has a UTC DatetimeIndex at ``step``."""

    name: str
    series: pd.Series
    step: timedelta
    gaps: tuple[Gap, ...] = ()
    fill: str | None = None
    column: str = "value"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.series)

    @property
    def values(self) -> np.ndarray:
        return self.series.to_numpy(dtype=float)

    def scaled(self, factor: float) -> Trace:
        return Trace(
            self.name,
            self.series * factor,
            self.step,
            self.gaps,
            self.fill,
            self.column,
            self.notes,
        )


def bundled_trace_path() -> Path:
    """Path of the embedded default trace (one week of the NASA HTTP per-minute trace)."""
    return Path(str(resources.files("autoscaler") / "data" / BUNDLED_TRACE))


def load_trace(
    path: str | Path | None,
    *,
    column: str | None = None,
    step: timedelta | None = None,
    fill: str | None = None,
    resample: timedelta | None = None,
    start: datetime = DEFAULT_START,
) -> Trace:
    """Load, validate and (optionally) resample a trace.

    ``path`` None loads the bundled default. ``step`` is required for files without
    timestamps and otherwise ignored unless it disagrees with ``resample``. ``fill`` is
    ``None`` (gaps are an error), ``"zero"`` or ``"previous"``. ``resample`` aggregates
    to a coarser step by mean, or holds values to a finer one.
    Raises ``TraceError``.
    """
    if fill not in (None, "zero", "previous"):
        raise TraceError(f"--fill must be zero or previous, not {fill!r}")
    p = bundled_trace_path() if path is None else Path(path)
    name = p.name
    if not p.exists():
        raise TraceError(f"{p}: no such file")
    if p.is_dir():
        raise TraceError(f"{p}: is a directory, not a trace file")
    try:
        text = read_text_file(p, what="trace file", max_bytes=MAX_TRACE_BYTES)
    except InputFileError as exc:
        raise TraceError(str(exc)) from None
    if not text.strip():
        raise TraceError(f"{p}: empty file")

    first = text.lstrip().splitlines()[0]
    headerless = "," not in first and _is_number(first.strip())
    if headerless:
        if step is None:
            raise TraceError(
                f"{p}: no timestamps in this file; give the sample interval with --step"
            )
        series, col = _read_headerless(p, text, step, start), "value"
        native_step = step
    else:
        series, col = _read_timestamped(p, text, column)
        native_step = _infer_step(p, series)

    _check_length(p, series, native_step, "sample interval")
    gaps = _find_gaps(series, native_step)
    notes: list[str] = []
    if gaps:
        missing = sum(g.steps for g in gaps)
        if fill is None:
            shown = "; ".join(g.describe() for g in gaps[:3]) + ("; ..." if len(gaps) > 3 else "")
            raise TraceError(
                f"{p}: {len(gaps)} gap(s), {missing} missing steps at "
                f"{format_duration(native_step)}: {shown}; pass --fill zero or --fill previous"
            )
        full = pd.date_range(series.index[0], series.index[-1], freq=native_step)
        series = series.reindex(full)
        series = series.fillna(0.0) if fill == "zero" else series.ffill()
        notes.append(f"filled {missing} missing steps in {len(gaps)} gap(s) with {fill}")

    if resample is not None and resample != native_step:
        _check_length(p, series, resample, "--step")
        series = _resample(series, native_step, resample)
        notes.append(
            f"resampled from {format_duration(native_step)} to {format_duration(resample)}"
        )
        native_step = resample
    series.name = col
    return Trace(name, series, native_step, tuple(gaps), fill, col, tuple(notes))


def _check_length(p: Path, series: pd.Series, step: timedelta, what: str) -> None:
    """Refuse a trace that would span more than ``MAX_TRACE_POINTS`` steps of ``step``
    once gaps are filled or it is resampled (two stamps a century apart, a 1 s step over
    years): that is a mistake, and building it would exhaust memory."""
    if len(series) < 2:
        return
    span = series.index[-1] - series.index[0]
    points = span / pd.Timedelta(step) + 1
    if points > MAX_TRACE_POINTS:
        raise TraceError(
            f"{p}: {span} at a {what} of {format_duration(step)} is {points:,.0f} steps, "
            f"more than {MAX_TRACE_POINTS:,}"
        )


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _read_headerless(p: Path, text: str, step: timedelta, start: datetime) -> pd.Series:
    raw = [ln.strip() for ln in text.splitlines()]
    values = np.empty(len(raw))
    for i, s in enumerate(raw):
        if not s:
            raise TraceError(f"{p}:{i + 1}: empty line")
        try:
            values[i] = float(s)
        except ValueError:
            raise TraceError(f"{p}:{i + 1}: not a number: {s[:40]!r}") from None
        if not np.isfinite(values[i]):
            raise TraceError(f"{p}:{i + 1}: not a finite number: {s[:40]!r}")
        if values[i] < 0:
            raise TraceError(f"{p}:{i + 1}: negative value {s}")
        if values[i] > MAX_TRACE_VALUE:
            raise TraceError(f"{p}:{i + 1}: value {s[:40]} is larger than {MAX_TRACE_VALUE:g}")
    index = pd.date_range(start, periods=len(values), freq=step, unit="ns")
    return pd.Series(values, index=index)


# The span of a nanosecond timestamp (about 1677-09-22 .. 2262-04-11).
_FIRST_STAMP = pd.Timestamp.min.ceil("s").tz_localize("UTC")
_LAST_STAMP = pd.Timestamp.max.floor("s").tz_localize("UTC")


def _read_timestamped(p: Path, text: str, column: str | None) -> tuple[pd.Series, str]:
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise TraceError(f"{p}: not a CSV file: {str(exc).splitlines()[0]}") from None
    cols = [c.strip() for c in df.columns]
    df.columns = cols
    ts_col = next((c for c in cols if c.lower() in TIMESTAMP_COLUMNS), None)
    if ts_col is None:
        raise TraceError(
            f"{p}:1: no timestamp column (expected one of {', '.join(TIMESTAMP_COLUMNS)}; "
            f"found {', '.join(cols)}); for a file without timestamps give --step"
        )
    value_cols = [c for c in cols if c != ts_col]
    if column is None:
        if len(value_cols) != 1:
            raise TraceError(
                f"{p}:1: {len(value_cols)} value columns ({', '.join(value_cols) or 'none'}); "
                "choose one with --column"
            )
        column = value_cols[0]
    elif column not in value_cols:
        raise TraceError(f"{p}:1: no column {column!r} (columns: {', '.join(value_cols)})")
    if df.empty:
        raise TraceError(f"{p}: no data rows")

    # utc=True reads a stamp without a zone as UTC: in a file that also has zoned ones,
    # that silently shifted them by the writer's offset.
    zoned = df[ts_col].str.strip().str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy()
    if zoned.any() and not zoned.all():
        i = int(np.flatnonzero(zoned != zoned[0])[0])
        raise TraceError(
            f"{p}:{i + 2}: timestamp {df[ts_col].iloc[i][:40]!r} "
            f"{'has a' if zoned[i] else 'has no'} time zone and line 2's "
            f"{'has none' if zoned[i] else 'has one'}; give every timestamp one, or none (UTC)"
        )
    stamps = pd.to_datetime(df[ts_col], errors="coerce", utc=True, format="mixed")
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise TraceError(f"{p}:{i + 2}: unparsable timestamp {df[ts_col].iloc[i][:40]!r}")
    # pandas may parse a year like 0001 or 9999 at a coarser unit; the nanosecond
    # arithmetic below cannot hold it (it raised OutOfBoundsDatetime with a traceback).
    bad = np.flatnonzero(((stamps < _FIRST_STAMP) | (stamps > _LAST_STAMP)).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise TraceError(
            f"{p}:{i + 2}: timestamp {df[ts_col].iloc[i][:40]!r} is outside "
            f"{_FIRST_STAMP:%Y-%m-%d} .. {_LAST_STAMP:%Y-%m-%d}"
        )
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise TraceError(f"{p}:{i + 2}: column {column!r}: not a number: {raw.iloc[i][:40]!r}")
    bad = np.flatnonzero(values < 0)
    if bad.size:
        i = int(bad[0])
        raise TraceError(f"{p}:{i + 2}: column {column!r}: negative value {raw.iloc[i]}")
    bad = np.flatnonzero(values > MAX_TRACE_VALUE)
    if bad.size:
        i = int(bad[0])
        raise TraceError(
            f"{p}:{i + 2}: column {column!r}: value {raw.iloc[i][:40]} is larger than "
            f"{MAX_TRACE_VALUE:g}"
        )
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    d = np.diff(ns)
    bad = np.flatnonzero(d == 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise TraceError(f"{p}:{i + 2}: duplicate timestamp {df[ts_col].iloc[i]}")
    bad = np.flatnonzero(d < 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise TraceError(
            f"{p}:{i + 2}: timestamps not sorted ({df[ts_col].iloc[i]} after {df[ts_col].iloc[i - 1]})"
        )
    # pandas 3 infers second/microsecond resolution; the step arithmetic below is in ns.
    return pd.Series(values, index=pd.DatetimeIndex(stamps).as_unit("ns")), column


def _infer_step(p: Path, series: pd.Series) -> timedelta:
    if len(series) < 2:
        raise TraceError(f"{p}: fewer than two samples; cannot tell the sample interval")
    ns = series.index.asi8
    step_ns = int(np.median(np.diff(ns)))
    if step_ns <= 0:
        raise TraceError(f"{p}: cannot tell the sample interval")
    # Real exports jitter by a few seconds; snap each stamp to the step grid.
    step = pd.Timedelta(step_ns, unit="ns").round("1s")
    if step == pd.Timedelta(0):
        raise TraceError(f"{p}: samples closer than one second are not supported")
    snapped = series.index.round(step) if (ns % step.value).any() else series.index
    if snapped.has_duplicates:
        dup = int(np.flatnonzero(snapped.duplicated())[0])
        raise TraceError(
            f"{p}:{dup + 2}: two samples fall in the same {format_duration(step.to_pytimedelta())} "
            "interval"
        )
    series.index = snapped
    return step.to_pytimedelta()


def _find_gaps(series: pd.Series, step: timedelta) -> list[Gap]:
    ns = series.index.asi8
    step_ns = int(step.total_seconds() * 1e9)
    d = np.diff(ns)
    idx = np.flatnonzero(d > step_ns)
    gaps = []
    for i in idx:
        start = series.index[i] + step
        missing = int(d[i] // step_ns) - 1
        if missing <= 0:
            continue
        gaps.append(
            Gap(start.to_pydatetime(), (start + (missing - 1) * step).to_pydatetime(), missing)
        )
    return gaps


def _resample(series: pd.Series, native: timedelta, target: timedelta) -> pd.Series:
    if target > native:
        return series.resample(target, origin="start").mean().dropna()
    full = pd.date_range(series.index[0], series.index[-1] + native - target, freq=target)
    return series.reindex(full, method="ffill")
