"""Property tests: every input surface answers hostile input with a result or one clear
line, never a traceback or a hang (hypothesis' deadline is the per-example limit)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile_files as hf
from tests import hostile_surfaces as hs

SETTINGS = settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    case=st.sampled_from([(c, o) for c, opts in hs.CLI_OPTIONS.items() for o in opts]),
    value=hs.VALUES,
)
def test_cli_options(case: tuple[str, str], value: str) -> None:
    command, option = case
    with tempfile.TemporaryDirectory() as tmp:
        if option == "--out":
            value = str(Path(tmp) / value.replace("\x00", "")) if value.strip() else value
        hs.check_cli_case(hs.cli_case(command, option, value), option)


@SETTINGS
@given(doc=hs.DOCUMENTS)
def test_config_documents(doc: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hs.check_config_file(hs.write_document(Path(tmp) / "c.yaml", doc))


@SETTINGS
@given(raw=hs.RAW_FILES)
def test_config_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "c.yaml"
        p.write_bytes(raw)
        hs.check_config_file(p)


@SETTINGS
@given(text=hs.TRACE_TEXT)
def test_trace_files(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "t.csv"
        p.write_text(text, encoding="utf-8")
        hs.check_trace_file(p)


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_trace_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "t.csv"
        p.write_bytes(raw)
        hs.check_trace_file(p)


@settings(max_examples=400, deadline=1000)
@given(text=hs.DURATIONS | hs.TEXT)
def test_durations(text: str) -> None:
    hs.check_duration(text)


@SETTINGS
@given(ready=hs.JSON, groups=hs.JSON, decisions=st.lists(hs.JSON, max_size=3))
def test_api_answers(ready: object, groups: object, decisions: list) -> None:
    hs.check_api_answer(ready, groups, decisions)


@SETTINGS
@given(case=hf.FLEET_FILES)
def test_fleet_files(case: tuple[str, bytes]) -> None:
    name, raw = case
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.write_bytes(raw)
        hf.check_fleet_file(p)


@SETTINGS
@given(case=hf.VM_DIRS)
def test_vm_dirs(case: tuple[str, list[tuple[str, bytes]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hf.check_vm_dir(hf.make_vm_dir(Path(tmp), case))


@SETTINGS
@given(case=hf.STORE_CASES)
def test_model_store(case: tuple[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "ran"
        store = hf.spoil_store(hf.saved_store(Path(tmp) / "models"), case, marker)
        hf.check_store(store, marker)
