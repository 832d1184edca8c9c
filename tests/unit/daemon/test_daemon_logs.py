"""Log formats: --log-format honoured, text on a terminal, <N> priorities for journald."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from autoscaler.daemon.logs import LogSink, is_journal_stream, resolve_format
from autoscaler.daemon.redact import Redactor


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_elsewhere_and_explicit_wins() -> None:
    assert resolve_format("auto", Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Terminal()) == "json", "--log-format json is honoured"
    assert resolve_format("text", io.StringIO()) == "text"


def test_journal_stream_is_recognised_by_device_and_inode(tmp_path: Path) -> None:
    with (tmp_path / "out").open("w") as stream:
        st = os.fstat(stream.fileno())
        assert is_journal_stream(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not is_journal_stream(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not is_journal_stream(stream, {})
    assert not is_journal_stream(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_priorities_prefix_each_line_by_level() -> None:
    out = io.StringIO()
    sink = LogSink(out, "json", Redactor(environ={}), priorities=True)
    sink.event("error", "state database failed", group="web")
    sink.event("warning", "cloud backoff")
    sink.event("info", "serving")
    sink.tick({"group": "web", "error": "boom", "stage": "cloud"})
    lines = out.getvalue().splitlines()
    assert [line[:3] for line in lines] == ["<3>", "<4>", "<6>", "<3>"]
    assert json.loads(lines[0][3:])["message"] == "state database failed"
    plain = io.StringIO()
    LogSink(plain, "json", Redactor(environ={})).event("error", "x")
    assert plain.getvalue().startswith("{")
