"""WSGI entry point for a test Placement service (run by gunicorn from .venv-placement).

Placement's config parser reads the process's command line and would reject the WSGI
server's own arguments, so they are cleared before placement is imported. The config
file is ``placement.conf`` in OS_PLACEMENT_CONFIG_DIR, as placement's loader expects.
"""

import sys

sys.argv = sys.argv[:1]

from placement.wsgi import init_application  # noqa: E402

application = init_application()
