"""The daemon's log lines: one JSON object per line, or text for a terminal.

Every line goes through the ``Redactor`` first, so no credential reaches the log.
Each group's tick produces exactly one line (``event: tick``). When stdout is the
journal's stream (``$JOURNAL_STREAM`` names its device and inode, as systemd sets it),
each line starts with its syslog priority (``<3>`` error, ``<4>`` warning, ``<6>``
info), which journald strips and stores, so ``journalctl -p err`` finds the errors.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from autoscaler.daemon.redact import Redactor
from autoscaler.input_errors import printable

# syslog(3) priorities, as journald reads them from a "<N>" line prefix.
PRIORITIES = {"critical": 2, "error": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}


def is_journal_stream(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """True when ``stream`` is the journal connection ``$JOURNAL_STREAM`` names
    (``DEVICE:INODE``): a child whose stdout was redirected elsewhere keeps the variable."""
    want = environ.get("JOURNAL_STREAM", "")
    if not want:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return want == f"{st.st_dev}:{st.st_ino}"


def resolve_format(requested: str, stream: IO[str]) -> str:
    """``json`` or ``text`` for ``requested`` (``auto``: text on a terminal, else json)."""
    if requested != "auto":
        return requested
    try:
        return "text" if stream.isatty() else "json"
    except (OSError, ValueError):
        return "json"


class LogSink:
    """Writes log lines to ``stream``; ``fmt`` is ``json`` or ``text``; ``priorities``
    prefixes each line with its ``<N>`` syslog priority (journald). Thread-safe."""

    def __init__(
        self, stream: IO[str], fmt: str, redactor: Redactor, *, priorities: bool = False
    ) -> None:
        if fmt not in ("json", "text"):
            raise ValueError(f"unknown log format {fmt!r}")
        self.stream = stream
        self.fmt = fmt
        self.redactor = redactor
        self.priorities = priorities
        self._lock = threading.Lock()

    @classmethod
    def for_stdout(
        cls, requested: str, redactor: Redactor, environ: Mapping[str, str] | None = None
    ) -> LogSink:
        """``requested`` is honoured (``auto`` picks as ``resolve_format``); priorities
        are added when stdout is the journal's stream."""
        env = os.environ if environ is None else environ
        return cls(
            sys.stdout,
            resolve_format(requested, sys.stdout),
            redactor,
            priorities=is_journal_stream(sys.stdout, env),
        )

    def event(self, level: str, message: str, **fields: Any) -> None:
        self._write({"level": level, "event": "message", "message": message, **fields})

    def tick(self, record: dict[str, Any]) -> None:
        """One decision, condensed from its audit record."""
        action = record.get("action")
        line = {
            "level": "error" if record.get("error") else "info",
            "event": "tick",
            "group": record.get("group"),
            "at": record.get("at"),
            "current": (record.get("status") or {}).get("ready", 0)
            + (record.get("status") or {}).get("booting", 0)
            if record.get("status")
            else None,
            "desired": record.get("desired"),
            "outcome": record.get("outcome"),
            "guard": record.get("guard"),
            "action": action["id"] if action else None,
            "votes": {v["policy"]: v["desired"] for v in record.get("votes", [])},
            "forecast": (record.get("forecast") or {}).get("mean_next"),
            "error": record.get("error"),
            "stage": record.get("stage"),
        }
        if action:
            line["reason"] = action["reason"]
        self._write(line)

    def _write(self, fields: dict[str, Any]) -> None:
        fields = self.redactor.value({"ts": _now(), **fields})
        if self.fmt == "json":
            text = json.dumps(fields, separators=(",", ":"), default=str)
        else:
            text = _human(fields)
        if self.priorities:
            text = f"<{PRIORITIES.get(str(fields.get('level')), 6)}>{text}"
        with self._lock:
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken stdout must not stop scaling


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _human(f: dict[str, Any]) -> str:
    head = f"{f['ts'][11:23]} {f['level'].upper():5}"
    if f.get("event") == "tick":
        change = f"{f['current']} -> {f['desired']}" if f.get("current") is not None else "?"
        parts = [head, f"{f['group']:<12}", f"sim {str(f.get('at'))[:16]}", change, f["outcome"]]
        if f.get("guard"):
            parts.append(f"guard={f['guard']}")
        if f.get("reason"):
            parts.append(f"({f['reason']})")
        if f.get("error"):
            parts.append(f"error[{f.get('stage')}]: {f['error']}")
        return "  ".join(str(p) for p in parts)
    extra = " ".join(
        f"{k}={v}" for k, v in f.items() if k not in ("ts", "level", "event", "message")
    )
    return f"{head} {f['message']}" + (f"  {extra}" if extra else "")


class SinkHandler(logging.Handler):
    """Routes library logging (apscheduler, keystoneauth, urllib3, openstacksdk, our
    adapters) into the same sink, so its lines are JSON and redacted like ours. A
    record with an exception gets the exception's one-line reason and where it was
    raised (never a multi-line traceback)."""

    def __init__(self, sink: LogSink) -> None:
        super().__init__(logging.NOTSET)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message, fields = record.getMessage(), {"logger": record.name}
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                reason = (
                    f"{type(exc).__name__}: {exc}".splitlines()[0]
                    if str(exc)
                    else type(exc).__name__
                )
                message = f"{message}: {reason}"
                fields["exception"] = reason
                tb = exc.__traceback__
                while tb is not None and tb.tb_next is not None:
                    tb = tb.tb_next
                if tb is not None:
                    fields["where"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
            self.sink.event(record.levelname.lower(), printable(message), **fields)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


# Loggers routed into the sink, and the least level each passes ("" is the root: any
# other library). Our adapters' info lines (an action already carried out) are kept.
LIBRARY_LEVELS = {
    "": logging.WARNING,
    "apscheduler": logging.WARNING,
    "keystoneauth": logging.WARNING,
    "keystoneauth1": logging.WARNING,
    "urllib3": logging.WARNING,
    "openstack": logging.WARNING,
    "stevedore": logging.WARNING,
    "autoscaler": logging.INFO,
}


def route_library_logs(sink: LogSink) -> Callable[[], None]:
    """Send every ``logging`` record of ``LIBRARY_LEVELS``' loggers (and any other, via
    the root) to ``sink`` only: their own handlers are removed, so nothing bypasses the
    redactor. Returns a function that puts the previous handlers and levels back."""
    saved = []
    handler = SinkHandler(sink)
    for name, level in LIBRARY_LEVELS.items():
        lg = logging.getLogger(name)
        saved.append((lg, list(lg.handlers), lg.level, lg.propagate))
        for h in list(lg.handlers):
            lg.removeHandler(h)
        lg.setLevel(level)
        if name:
            lg.propagate = True
    logging.getLogger().addHandler(handler)

    def undo() -> None:
        for lg, handlers, level, propagate in saved:
            for h in list(lg.handlers):
                lg.removeHandler(h)
            for h in handlers:
                lg.addHandler(h)
            lg.setLevel(level)
            lg.propagate = propagate

    return undo
