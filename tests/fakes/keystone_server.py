"""A real Keystone for tests: SQLite, fernet tokens, served by gunicorn on 127.0.0.1.

Keystone lives in its own virtualenv (``.venv-keystone``, made by ``make
.venv-keystone``) so that its many pinned dependencies never touch the project's.
``KeystoneProcess`` configures it, bootstraps an admin, registers catalog entries
and stops it on ``stop``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import requests

from tests.fakes.processes import start_gunicorn, stop_process, wait_ready
from tests.fakes.prometheus_server import free_port

REPO = Path(__file__).resolve().parents[2]
KEYSTONE_VENV = REPO / ".venv-keystone"
ADMIN_PASSWORD = "admin-secret-for-tests"
REGION = "RegionOne"


def keystone_available() -> str | None:
    """None when the keystone venv is usable, else why not."""
    for tool in ("keystone-manage", "gunicorn"):
        if not (KEYSTONE_VENV / "bin" / tool).exists():
            return f"{KEYSTONE_VENV}/bin/{tool} missing (run `make .venv-keystone`)"
    return None


class KeystoneProcess:
    """Keystone on ``url`` (``.../v3`` is ``auth_url``) with user ``admin`` in project ``admin``."""

    def __init__(self, work_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_url = f"{self.url}/v3"
        conf = work_dir / "keystone.conf"
        conf.write_text(
            "[database]\n"
            f"connection = sqlite:///{work_dir}/keystone.db\n"
            "[token]\nprovider = fernet\nexpiration = 3600\n"
            f"[fernet_tokens]\nkey_repository = {work_dir}/fernet-keys\n"
            f"[fernet_receipts]\nkey_repository = {work_dir}/fernet-keys\n"
            f"[credential]\nkey_repository = {work_dir}/credential-keys\n",
            encoding="utf-8",
        )
        env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(conf)}
        manage = [str(KEYSTONE_VENV / "bin" / "keystone-manage"), "--config-file", str(conf)]
        owner = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
        for args in (
            ["db_sync"],
            ["fernet_setup", *owner],
            ["credential_setup", *owner],
            [
                "bootstrap",
                "--bootstrap-password", ADMIN_PASSWORD,
                "--bootstrap-admin-url", self.auth_url,
                "--bootstrap-public-url", self.auth_url,
                "--bootstrap-internal-url", self.auth_url,
                "--bootstrap-region-id", REGION,
            ],
        ):  # fmt: skip
            subprocess.run([*manage, *args], check=True, capture_output=True, env=env, timeout=120)
        self._log = (work_dir / "keystone.log").open("wb")
        self.proc = start_gunicorn(KEYSTONE_VENV, self.port, "keystone_wsgi:application", env,
                                   self._log)  # fmt: skip
        try:
            wait_ready(self.proc, self.auth_url, 120, "keystone")
        except RuntimeError:
            self.stop()
            raise
        self._admin_token = self.issue_token()
        self._members: dict[str, tuple[str, str]] = {}

    def issue_token(self) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": ADMIN_PASSWORD,
                        }
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        }
        r = requests.post(f"{self.auth_url}/auth/tokens", json=body, timeout=10)
        r.raise_for_status()
        return r.headers["X-Subject-Token"]

    def _admin(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, **kwargs: object
    ) -> requests.Response:
        headers = {"X-Auth-Token": self._admin_token, **(headers or {})}
        r = requests.request(method, self.auth_url + path, headers=headers, timeout=10, **kwargs)
        r.raise_for_status()
        return r

    def register(self, services: Mapping[str, str]) -> None:
        """Add a catalog entry (public, internal) for each service type -> endpoint URL."""
        for service_type, url in services.items():
            svc = self._admin("POST", "/services", json={"service": {"type": service_type}})
            sid = svc.json()["service"]["id"]
            for interface in ("public", "internal"):
                endpoint = {
                    "service_id": sid,
                    "interface": interface,
                    "url": url,
                    "region_id": REGION,
                }
                self._admin("POST", "/endpoints", json={"endpoint": endpoint})

    def validate(self, token: str) -> dict[str, object] | None:
        """The token's body when Keystone accepts it (as keystonemiddleware asks), else None."""
        r = requests.get(
            f"{self.auth_url}/auth/tokens",
            headers={"X-Auth-Token": self._admin_token, "X-Subject-Token": token},
            timeout=10,
        )
        return r.json()["token"] if r.status_code == 200 else None

    def revoke(self, token: str) -> None:
        self._admin("DELETE", "/auth/tokens", headers={"X-Subject-Token": token})

    def add_member(self, user: str, password: str, project: str) -> None:
        """A project ``project`` with user ``user`` holding only the ``member`` role there
        (what a tenant's application credential usually has)."""
        pid = self._admin("POST", "/projects", json={"project": {"name": project,
                          "domain_id": "default"}}).json()["project"]["id"]  # fmt: skip
        uid = self._admin("POST", "/users", json={"user": {"name": user, "password": password,
                          "domain_id": "default"}}).json()["user"]["id"]  # fmt: skip
        rid = self._admin("GET", "/roles", params={"name": "member"}).json()["roles"][0]["id"]
        self._admin("PUT", f"/projects/{pid}/users/{uid}/roles/{rid}")
        self._members[user] = (password, project)

    def project_id(self) -> str:
        r = self._admin("GET", "/projects", params={"name": "admin"})
        return str(r.json()["projects"][0]["id"])

    def clouds_yaml(self, path: Path) -> Path:
        """clouds.yaml with ``test`` (the admin), ``test-slow`` (a 3 s API timeout) and
        ``test-<user>`` for each user added by ``add_member``."""
        entry = (
            "    auth:\n"
            f"      auth_url: {self.auth_url}\n"
            "      username: admin\n"
            f"      password: {ADMIN_PASSWORD}\n"
            "      project_name: admin\n"
            "      user_domain_id: default\n"
            "      project_domain_id: default\n"
            f"    region_name: {REGION}\n"
            "    identity_api_version: 3\n"
        )
        text = f"clouds:\n  test:\n{entry}  test-slow:\n{entry}    api_timeout: 3\n"
        for user, (password, project) in self._members.items():
            member = (
                entry.replace("username: admin", f"username: {user}")
                .replace(f"password: {ADMIN_PASSWORD}", f"password: {password}")
                .replace("project_name: admin", f"project_name: {project}")
            )
            text += f"  test-{user}:\n{member}"
        path.write_text(text, encoding="utf-8")
        return path

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()
