"""Log formats: --log-format honoured, text on a terminal, <N> priorities for journald."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

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


@pytest.fixture
def routed():  # type: ignore[no-untyped-def]
    """A JSON sink on a buffer that every library logger goes to; undone afterwards."""
    from autoscaler.daemon.logs import route_library_logs

    secret = "s3cr3t-token-0042"
    sink = LogSink(io.StringIO(), "json", Redactor(environ={"OS_AUTH_TOKEN": secret}))
    undo = route_library_logs(sink)
    yield sink, secret
    undo()


def _lines(sink: LogSink) -> list[dict]:
    return [json.loads(line) for line in sink.stream.getvalue().splitlines()]


def test_third_party_loggers_go_through_the_sink_and_its_redactor(routed) -> None:
    import logging

    sink, secret = routed
    names = ["keystoneauth1.session", "keystoneauth.identity", "urllib3.connectionpool",
             "openstack.config", "autoscaler.adapters.openstack_calls", "some.other.library"]  # fmt: skip
    for name in names:
        logging.getLogger(name).warning("call failed: X-Auth-Token: %s", secret)
    logging.getLogger("urllib3.connectionpool").debug("noise %s", secret)  # below WARNING
    lines = _lines(sink)
    assert [line["logger"] for line in lines] == names
    assert all(line["level"] == "warning" and secret not in json.dumps(line) for line in lines)
    assert secret not in sink.stream.getvalue()


def test_a_library_handler_installed_before_is_removed_while_routed() -> None:
    import logging

    from autoscaler.daemon.logs import route_library_logs

    own = io.StringIO()
    lg = logging.getLogger("keystoneauth")
    lg.addHandler(logging.StreamHandler(own))
    sink = LogSink(io.StringIO(), "json", Redactor(environ={}))
    undo = route_library_logs(sink)
    try:
        logging.getLogger("keystoneauth.session").error("refused")
    finally:
        undo()
    assert own.getvalue() == "" and _lines(sink)[0]["message"] == "refused"
    assert len(lg.handlers) == 1  # put back
    lg.handlers.clear()


def test_an_apscheduler_job_that_raises_logs_its_reason(routed) -> None:
    import time

    from apscheduler.schedulers.background import BackgroundScheduler

    sink, secret = routed

    def evaluate() -> None:
        raise RuntimeError(f"cloud said no (token {secret})")

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(evaluate, id="evaluate:web", name="evaluate:web")
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "raised" not in sink.stream.getvalue():
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
    (line,) = [x for x in _lines(sink) if "raised an exception" in x["message"]]
    assert line["level"] == "error" and line["logger"].startswith("apscheduler")
    assert line["exception"] == "RuntimeError: cloud said no (token ***)"
    assert line["message"].endswith(": RuntimeError: cloud said no (token ***)")
    assert line["where"].endswith(f"test_daemon_logs.py:{evaluate.__code__.co_firstlineno + 1}")
    assert "Traceback" not in sink.stream.getvalue() and secret not in sink.stream.getvalue()
