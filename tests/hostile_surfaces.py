"""Hostile inputs for each input surface, and the one outcome each must have.

Shared by ``tests/unit/hostile`` (a few hundred examples per surface in ``make test``)
and ``bench/fuzz.py`` (10,000). Every driver feeds one input to a real entry point
and returns what a user would see; ``check_*`` assert the contract: a result, or a
user error of one line naming where, never a traceback or another exception.
"""

from __future__ import annotations

import contextlib
import io
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from autoscaler.cli import main
from autoscaler.config import ConfigError, load_config
from autoscaler.daemon_client import expect_shape
from autoscaler.durations import parse_duration
from autoscaler.errors import UserError
from autoscaler.limits import MAX_DURATION
from autoscaler.traces import TraceError, load_trace

# ---------------------------------------------------------------- values

NUMBERS = st.sampled_from(
    ["0", "-1", "1", "nan", "inf", "-inf", "1e309", "1e-320", "99999999999999999999999",
     "0x10", "1_000", "", " ", "3.5", "-0", "1e9", "12abc"]
)  # fmt: skip
DURATIONS = st.one_of(
    st.sampled_from(
        ["0s", "1ms", "0.5ms", "1s", "90s", "5m", "1h30m", "99999999999d", "100000d", "1w",
         "-1s", "5 minutes", "m", "", "1e3s", "nan", "1.5h", "3650d", "3651d"]
    ),
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**30), st.sampled_from(["ms", "s", "m", "h", "d", "w"])),
)  # fmt: skip
TEXT = st.text(alphabet=string.printable, max_size=40)
PATHS = st.sampled_from(["/dev/zero", "/tmp", "/nonexistent/x", "/etc/hostname", ".", ""])
URLS = st.sampled_from(
    ["http://127.0.0.1:1", "https://127.0.0.1:1/", "file:///etc/passwd", "ftp://127.0.0.1/",
     "http://", "http://[::1", "127.0.0.1:9723", "http://127.0.0.1:99999", "javascript:x",
     "http://127.0.0.1:1/\r\nX: y", "/dev/zero", "/tmp", "/nonexistent/token"]
)  # fmt: skip
VALUES = st.one_of(NUMBERS, DURATIONS, TEXT, PATHS, URLS)

# ---------------------------------------------------------------- the CLI


@dataclass(frozen=True)
class CliOutcome:
    code: int
    stdout: str
    stderr: str


def run_cli(argv: list[str]) -> CliOutcome:
    """Run ``autoscaler argv`` in this process, as the console script does."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return CliOutcome(code, out.getvalue(), err.getvalue())


def check_user_error(res: CliOutcome, *names: str) -> None:
    """Exit 2 with one ``error:`` line that names one of ``names`` (when given)."""
    assert "Traceback" not in res.stderr, res.stderr
    assert res.code == 2, (res.code, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    if names:
        assert any(n in lines[0] for n in names), (names, lines[0])


# Options that take a value, for commands pointed at inputs that do not exist: a bad
# value is rejected first, naming the option; a good one reaches the missing input (or,
# for the API client, the closed port 1 on loopback).
CLI_OPTIONS = {
    "simulate": ["--step", "--boot-delay", "--seed", "--peak-instances", "--scale", "--out"],
    "forecast": ["--step", "--horizon", "--seed", "--quantiles"],
    "backtest": ["--step", "--horizon", "--seed", "--windows", "--train-window"],
    "simulate --vms": ["--hosts", "--vm-count", "--contention-threshold", "--seed", "--placement"],
    "simulate --fleet": ["--load-pct", "--arrival-speedup", "--mode", "--scheduler",
                         "--allocation", "--seed", "--placement"],
    "run": ["--speedup", "--port", "--log-format", "--bind"],
    "status": ["--url", "--token-file", "--ca-file"],
    "explain": ["--url", "--last", "--token-file"],
}  # fmt: skip
MISSING_TRACE = "/nonexistent/trace.csv"
DOWN_URL = "http://127.0.0.1:1"
_BASES = {
    "simulate --vms": ["simulate", "--vms", "/nonexistent/vms"],
    "simulate --fleet": ["simulate", "--fleet", "/nonexistent/n.csv", "--trace", MISSING_TRACE],
    "run": ["run", "--config", "/nonexistent/c.yaml"],
    "status": ["status", "--url", DOWN_URL],
    "explain": ["explain", "web", "--url", DOWN_URL],
}
# What a good value reaches: one of these is named by the error line.
MISSING = (MISSING_TRACE, "/nonexistent/vms", "/nonexistent/n.csv", "/nonexistent/c.yaml", DOWN_URL)


def cli_case(command: str, option: str, value: str) -> list[str]:
    argv = [*_BASES.get(command, [command, "--trace", MISSING_TRACE]), option, value]
    if command in ("forecast", "backtest") and option != "--horizon":
        argv += ["--horizon", "1"]
    if command == "backtest":
        argv += ["--models", "naive"]
    if command == "status" and option == "--ca-file":
        argv[2] = "https://127.0.0.1:1"  # the CA file is read for https only
    return argv


def check_cli_case(argv: list[str], option: str) -> None:
    res = run_cli(argv)
    check_user_error(res, option, "--out", "cannot reach the daemon at", *MISSING)


# ---------------------------------------------------------------- config files

SCHEMA_KEYS = {
    "": ["version", "groups", "cloud", "simulation", "daemon", "hosts", "flavors", "placement"],
    "group": ["name", "min_size", "max_size", "capacity_per_instance", "interval",
              "cooldown_up", "cooldown_down", "boot_delay", "stale_after", "victims",
              "placement", "policies", "forecaster", "metric", "slo", "max_step_up"],
}  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**25), 10**25),
    st.floats(allow_nan=True, allow_infinity=True), DURATIONS, TEXT,
)  # fmt: skip
GROUPS = st.lists(
    st.dictionaries(st.sampled_from(SCHEMA_KEYS["group"]), SCALARS, max_size=6).map(
        lambda d: {"name": "web", **d}
    ),
    max_size=3,
)
SECTIONS = {
    "daemon": ["state_dir", "bind", "port", "log_format", "speedup", "not_ready_after",
               "source_timeout", "misfire_grace", "audit_retention"],
    "simulation": ["step", "seed", "peak_instances", "boot_failure_rate", "request_timeout",
                   "trace", "column", "fill"],
    "placement": ["contention_threshold", "quantile", "history", "rebalance_every",
                  "migrations_per_round", "vm_flavor", "consolidate", "consolidate_below"],
    "cloud": ["kind", "cloud", "clouds_file"],
}  # fmt: skip
NESTED = {
    "hosts": ["prefix", "count", "zones", "vcpus", "ram_mb", "gpus", "cpu_allocation_ratio"],
    "forecaster": ["model", "retrain", "train_window", "horizon", "quantiles", "params"],
    "metric": ["source", "query", "unit", "lookback"],
    "slo": ["p95_latency", "target_violation_pct"],
    "policy": ["kind", "target", "stabilization_down", "upper", "lower", "horizon", "quantile"],
    "params": ["alpha", "season", "beta", "order", "lookback"],
}  # fmt: skip
POLICY_KINDS = st.sampled_from(
    ["threshold", "target", "kpa", "oracle", "predictive_threshold", "predictive_target", "qos",
     "schedule", "banana"]
)  # fmt: skip


def _mapping(keys: list[str], values: st.SearchStrategy = SCALARS) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(keys), values, max_size=5)


RICH_GROUP = st.fixed_dictionaries(
    {"name": st.sampled_from(["web", "api", "", "a b", "web"])},
    optional={
        **{k: SCALARS for k in SCHEMA_KEYS["group"] if k not in ("name", "policies", "forecaster", "metric", "slo")},
        "policies": st.lists(_mapping(NESTED["policy"]).map(lambda d: d) | st.builds(
            lambda kind, rest: {"kind": kind, **rest}, POLICY_KINDS, _mapping(NESTED["policy"])), max_size=3),
        "forecaster": st.builds(lambda f, p: {**f, "params": p},
                                _mapping(NESTED["forecaster"]), _mapping(NESTED["params"])),
        "metric": _mapping(NESTED["metric"]),
        "slo": _mapping(NESTED["slo"]),
    },
)  # fmt: skip
RICH_DOCUMENTS = st.fixed_dictionaries(
    {"groups": st.lists(RICH_GROUP, min_size=1, max_size=3)},
    optional={
        **{name: _mapping(keys) for name, keys in SECTIONS.items()},
        "hosts": st.lists(_mapping(NESTED["hosts"]), max_size=2),
        "flavors": st.dictionaries(TEXT, _mapping(["vcpus", "ram_mb", "gpus", "price_per_hour"]), max_size=2),
        "version": SCALARS,
    },
)  # fmt: skip
DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"groups": GROUPS}),
    st.dictionaries(st.sampled_from(SCHEMA_KEYS[""]), st.one_of(SCALARS, GROUPS), max_size=4),
    st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=8),
    RICH_DOCUMENTS,
)  # fmt: skip
RAW_FILES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.sampled_from([b"", b"a: &a [1]\nb: [*a, *a]\nc: 1\nc: 2\n", b"groups: [\n", b"\xff\xfe\x00x"]),
)  # fmt: skip


def write_document(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def check_config_file(path: Path) -> None:
    """A config or a ``ConfigError`` whose every line starts with the file's path."""
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.errors, "a ConfigError with no message"
        for line in exc.errors:
            assert line.startswith(str(path)), line
            assert "\n" not in line


# ---------------------------------------------------------------- trace files

CELLS = st.one_of(
    NUMBERS, TEXT, st.sampled_from(["2024-01-01T00:00:00", "1995-07-01 00:00:00", "yesterday"])
)
TRACE_TEXT = st.one_of(
    st.lists(NUMBERS, max_size=30).map("\n".join),
    st.lists(st.tuples(CELLS, CELLS), max_size=20).map(
        lambda rows: "timestamp,value\n" + "\n".join(f"{a},{b}" for a, b in rows)
    ),
    st.text(max_size=300),
)  # fmt: skip


def check_trace_file(path: Path) -> None:
    try:
        load_trace(path, step=parse_duration("1m"))
    except TraceError as exc:
        assert str(exc).startswith(str(path)) or "--" in str(exc), str(exc)
        assert "\n" not in str(exc)


# ---------------------------------------------------------------- durations


def check_duration(text: str) -> None:
    try:
        d = parse_duration(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert d <= MAX_DURATION


# ---------------------------------------------------------------- the API client

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(
        ["ready", "reasons", "groups", "name", "min_size", "max_size", "current_size",
         "last_decision", "cooldowns", "decisions", "action", "status", "votes", "x"]), c, max_size=4),
    max_leaves=10,
)  # fmt: skip


def check_api_answer(ready: Any, groups: Any, decisions: Any) -> None:
    """What ``status`` and ``explain`` print for these answers, or one ``UserError``."""
    from autoscaler.commands.explain import _explain
    from autoscaler.commands.status import _print_status

    out = io.StringIO()
    for render in (
        lambda: _print_status("http://127.0.0.1:1", ready, groups),
        lambda: [_explain(d) for d in decisions],
    ):
        try:
            with contextlib.redirect_stdout(out), expect_shape("http://127.0.0.1:1/x"):
                render()
        except UserError as exc:
            assert "\n" not in exc.format_message()


def dumps(value: Any) -> str:
    return json.dumps(value)
