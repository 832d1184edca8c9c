"""The daemon's log lines: one JSON object per line for journald, or text for a terminal.

Every line goes through the ``Redactor`` first, so no credential reaches the log.
Each group's tick produces exactly one line (``event: tick``).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any

from autoscaler.daemon.redact import Redactor


class LogSink:
    """Writes log lines to ``stream``; ``fmt`` is ``json`` or ``text``. Thread-safe."""

    def __init__(self, stream: IO[str], fmt: str, redactor: Redactor) -> None:
        self.stream = stream
        self.fmt = fmt
        self.redactor = redactor
        self._lock = threading.Lock()

    @classmethod
    def for_stdout(cls, fmt: str, redactor: Redactor) -> LogSink:
        """JSON unless ``fmt`` is ``text`` or stdout is a terminal."""
        return cls(sys.stdout, "text" if sys.stdout.isatty() else fmt, redactor)

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
    """Routes library logging (apscheduler's misfire warnings) into the same sink."""

    def __init__(self, sink: LogSink) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.event(record.levelname.lower(), record.getMessage(), logger=record.name)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)
