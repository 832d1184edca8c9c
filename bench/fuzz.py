"""The hostile-input surfaces, 10,000 examples each (``make test`` runs a few hundred).

For every surface of ``tests/hostile_surfaces.py`` (CLI options, config documents and
raw config bytes, trace text and raw trace bytes, GPU fleet and pod files, VM trace
folders, the model store, duration strings, the API client's answers) hypothesis
generates inputs and checks the contract: a result, or one clear line (exit 2 for the
CLI), never a traceback, another exception, code run from a stored model, or an
example slower than the per-example limit (a hang). Prints examples run, failures and the slowest
example per surface; exits 1 on any failure.

Usage: python bench/fuzz.py [--examples 10000] [--deadline-ms 5000] [--only NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile_files as hf
from tests import hostile_surfaces as hs


def _cli(case: tuple[str, str], value: str) -> None:
    command, option = case
    with tempfile.TemporaryDirectory() as tmp:
        if option == "--out" and value.strip():
            value = str(Path(tmp) / value.replace("\x00", ""))
        hs.check_cli_case(hs.cli_case(command, option, value), option)


def _config_doc(doc: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hs.check_config_file(hs.write_document(Path(tmp) / "c.yaml", doc))


def _bytes_file(check: Callable[[Path], None], name: str) -> Callable[[bytes], None]:
    def run(raw: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / name
            p.write_bytes(raw)
            check(p)

    return run


def _fleet_file(case: tuple[str, bytes]) -> None:
    name, raw = case
    _bytes_file(hf.check_fleet_file, name)(raw)


def _vm_dir(case: tuple[str, list[tuple[str, bytes]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hf.check_vm_dir(hf.make_vm_dir(Path(tmp), case))


def _store(case: tuple[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "ran"
        store = hf.spoil_store(hf.saved_store(Path(tmp) / "models"), case, marker)
        hf.check_store(store, marker)


def _trace_text(text: str) -> None:
    _bytes_file(hs.check_trace_file, "t.csv")(text.encode("utf-8", "surrogatepass"))


CLI_CASES = st.sampled_from([(c, o) for c, opts in hs.CLI_OPTIONS.items() for o in opts])
SURFACES: dict[str, tuple[Callable[..., None], dict[str, st.SearchStrategy]]] = {
    "cli options": (_cli, {"case": CLI_CASES, "value": hs.VALUES}),
    "config documents": (_config_doc, {"doc": hs.DOCUMENTS}),
    "config bytes": (_bytes_file(hs.check_config_file, "c.yaml"), {"raw": hs.RAW_FILES}),
    "trace text": (_trace_text, {"text": hs.TRACE_TEXT}),
    "trace bytes": (_bytes_file(hs.check_trace_file, "t.csv"), {"raw": st.binary(max_size=300)}),
    "fleet files": (_fleet_file, {"case": hf.FLEET_FILES}),
    "vm folders": (_vm_dir, {"case": hf.VM_DIRS}),
    "model store": (_store, {"case": hf.STORE_CASES}),
    "durations": (hs.check_duration, {"text": hs.DURATIONS | hs.TEXT}),
    "api answers": (
        hs.check_api_answer,
        {"ready": hs.JSON, "groups": hs.JSON, "decisions": st.lists(hs.JSON, max_size=3)},
    ),
}


def fuzz(name: str, examples: int, deadline_ms: int) -> tuple[int, float, str | None]:
    fn, strategies = SURFACES[name]
    count, slowest = [0], [0.0]

    def timed(**kwargs: object) -> None:
        t0 = time.perf_counter()
        fn(**kwargs)
        count[0] += 1
        slowest[0] = max(slowest[0], time.perf_counter() - t0)

    test = settings(
        max_examples=examples,
        deadline=deadline_ms,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(given(**strategies)(timed))
    try:
        test()
    except Exception:  # a failure: hypothesis has shrunk it; show it
        return count[0], slowest[0], traceback.format_exc(limit=3)
    return count[0], slowest[0], None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--deadline-ms", type=int, default=5000)
    ap.add_argument("--only", choices=sorted(SURFACES), default=None)
    args = ap.parse_args()
    names = [args.only] if args.only else list(SURFACES)
    print(f"{'surface':<18} {'examples':>9} {'failures':>9} {'slowest s':>10} {'wall s':>8}")
    failed = False
    for name in names:
        t0 = time.perf_counter()
        n, slowest, failure = fuzz(name, args.examples, args.deadline_ms)
        wall = time.perf_counter() - t0
        print(f"{name:<18} {n:>9,} {int(failure is not None):>9} {slowest:>10.3f} {wall:>8.1f}")
        if failure:
            failed = True
            print(failure, file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
