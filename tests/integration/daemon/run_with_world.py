"""``autoscaler run`` on a test world, passed to the daemon as an object.

The production daemon takes no code from its environment; a test that needs another
cloud starts this script instead, which hands ``run_daemon`` its own world builder:
``--world MODULE:FUNCTION`` from this folder (default ``fake_world:build``, the
``FileWorld``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from autoscaler.daemon.main import RunOptions, run_daemon


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--state-dir")
    p.add_argument("--port", type=int)
    p.add_argument("--speedup", type=float)
    p.add_argument("--log-format")
    p.add_argument("--world", default="fake_world:build")
    a = p.parse_args()
    module, _, name = a.world.partition(":")
    build = getattr(importlib.import_module(module), name)
    opts = RunOptions(Path(a.config), a.state_dir, a.speedup, None, a.port, a.log_format)
    return run_daemon(opts, make_world=build)


if __name__ == "__main__":
    sys.exit(main())
