"""Whether two ``bench/genai_serving.py --out`` folders hold the same replays: every
``summary-*.json`` equal to the byte once the timing fields (wall and CPU seconds and
the rates from them, which differ from run to run) are taken out of each policy's row.

Usage: python bench/genai_identity.py BEFORE_DIR AFTER_DIR   (exit 1 on a difference)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TIMING = ("wall_seconds", "requests_per_wall_second", "cpu_seconds", "requests_per_cpu_second")


def without_timing(summary: dict) -> str:
    """The summary as canonical JSON text, the per-policy timing fields left out."""
    doc = json.loads(json.dumps(summary))
    for row in doc.get("policies", {}).values():
        for key in TIMING if isinstance(row, dict) else ():
            row.pop(key, None)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def compare(before: Path, after: Path) -> list[str]:
    """One line per summary file: same, differs (with the policies that differ) or missing."""
    out = []
    for b in sorted(before.glob("summary-*.json")):
        a = after / b.name
        if not a.exists():
            out.append(f"{b.name}: missing in {after}")
            continue
        old, new = json.loads(b.read_text()), json.loads(a.read_text())
        if without_timing(old) == without_timing(new):
            out.append(f"{b.name}: identical ({', '.join(old['policies'])})")
            continue
        bad = [
            n
            for n in {**old["policies"], **new["policies"]}
            if without_timing({"policies": {n: old["policies"].get(n)}})
            != without_timing({"policies": {n: new["policies"].get(n)}})
        ]
        out.append(f"{b.name}: DIFFERS ({', '.join(bad) or 'trace/serving header'})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="--out folder of the first run")
    parser.add_argument("after", type=Path, help="--out folder of the second run")
    args = parser.parse_args()
    for folder in (args.before, args.after):
        if not folder.is_dir():
            parser.error(f"{folder}: not a folder")  # one line, exit 2
    lines = compare(args.before, args.after)
    print("\n".join(lines) or "no summary-*.json in the first folder")
    sys.exit(0 if lines and all("identical" in x for x in lines) else 1)


if __name__ == "__main__":
    main()
