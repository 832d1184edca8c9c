"""A real OpenStack Placement service for tests: SQLite, behind the real Keystone.

Placement lives in its own virtualenv (``.venv-placement``, made by ``make
.venv-placement`` from ``requirements-placement.lock``) so that its pinned dependencies
never touch the project's. ``PlacementProcess`` writes its config (keystonemiddleware
checking tokens with the test Keystone), creates the schema with ``placement-manage db
sync`` and serves it with gunicorn on 127.0.0.1 until ``stop``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.fakes.keystone_server import ADMIN_PASSWORD, REGION, KeystoneProcess
from tests.fakes.processes import start_gunicorn, stop_process, wait_ready
from tests.fakes.prometheus_server import free_port

REPO = Path(__file__).resolve().parents[2]
PLACEMENT_VENV = REPO / ".venv-placement"


def placement_available() -> str | None:
    """None when the placement venv is usable, else why not."""
    for tool in ("placement-manage", "gunicorn"):
        if not (PLACEMENT_VENV / "bin" / tool).exists():
            return f"{PLACEMENT_VENV}/bin/{tool} missing (run `make .venv-placement`)"
    return None


class PlacementProcess:
    """Placement on ``url``, registered in ``keystone``'s catalog as ``placement``."""

    def __init__(self, work_dir: Path, keystone: KeystoneProcess) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf_dir = work_dir / "etc"
        conf_dir.mkdir(parents=True, exist_ok=True)
        (conf_dir / "placement.conf").write_text(  # placement-manage is given it explicitly
            "[DEFAULT]\nuse_stderr = true\n"
            "[api]\nauth_strategy = keystone\n"
            "[keystone_authtoken]\n"
            f"www_authenticate_uri = {keystone.auth_url}\n"
            f"auth_url = {keystone.auth_url}\n"
            "auth_type = password\n"
            "username = admin\n"
            f"password = {ADMIN_PASSWORD}\n"
            "project_name = admin\n"
            "user_domain_id = default\n"
            "project_domain_id = default\n"
            f"region_name = {REGION}\n"
            "service_token_roles_required = true\n"
            "[placement_database]\n"
            f"connection = sqlite:///{work_dir}/placement.db\n",
            encoding="utf-8",
        )
        env = {**os.environ, "OS_PLACEMENT_CONFIG_DIR": str(conf_dir)}
        conf = conf_dir / "placement.conf"
        subprocess.run(
            [
                str(PLACEMENT_VENV / "bin" / "placement-manage"),
                "--config-file",
                str(conf),
                "db",
                "sync",
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=180,
        )
        self._log = (work_dir / "placement.log").open("wb")
        self.proc = start_gunicorn(PLACEMENT_VENV, self.port, "placement_wsgi:application", env,
                                   self._log, threads=8)  # fmt: skip
        try:  # the version document is the one unauthenticated answer
            wait_ready(self.proc, self.url, 120, "placement")
        except RuntimeError:
            self.stop()
            raise
        keystone.register({"placement": self.url})

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()
