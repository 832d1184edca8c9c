"""WSGI entry point for a test Keystone (run by gunicorn from .venv-keystone).

Keystone's config parser reads the process's command line and rejects the WSGI
server's own arguments, so they are cleared before keystone is imported. The config
file comes from OS_KEYSTONE_CONFIG_FILES, as keystone's own WSGI loader expects.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server.wsgi import initialize_public_application  # noqa: E402

application = initialize_public_application()
