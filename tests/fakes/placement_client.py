"""What the fake Nova says to the real Placement service, as Nova's report client does:
compute nodes as resource providers with inventories, and one allocation per server.

It authenticates as the cloud's service user (an admin token from the real Keystone,
fetched again on a 401) and speaks microversion 1.28 (consumer generations).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

MICROVERSION = "placement 1.28"


class PlacementError(RuntimeError):
    """Placement answered something the fake Nova cannot go on from."""


class PlacementClient:
    def __init__(self, url: str, token: Callable[[], str]) -> None:
        self.url = url.rstrip("/")
        self._issue = token
        self._token = ""
        self._lock = threading.Lock()
        self._http = requests.Session()

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        for attempt in (1, 2):
            with self._lock:
                if not self._token:
                    self._token = self._issue()
                token = self._token
            r = self._http.request(
                method,
                self.url + path,
                json=body,
                timeout=30,
                headers={"X-Auth-Token": token, "OpenStack-API-Version": MICROVERSION},
            )
            if r.status_code == 401 and attempt == 1:
                with self._lock:
                    self._token = ""
                continue
            if r.status_code < 300 or r.status_code in ok:
                return r
            raise PlacementError(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}")
        raise PlacementError(f"{method} {path}: token refused twice")

    # ------------------------------------------------------------------ compute nodes

    def add_provider(
        self, name: str, uuid: str, vcpus: int, ram_mb: int, cpu_ratio: float, ram_ratio: float
    ) -> None:
        """A compute node's resource provider with its VCPU and MEMORY_MB inventory."""
        self._call("POST", "/resource_providers", {"name": name, "uuid": uuid})
        inventories = {
            "VCPU": {"total": vcpus, "allocation_ratio": cpu_ratio, "max_unit": vcpus},
            "MEMORY_MB": {"total": ram_mb, "allocation_ratio": ram_ratio, "max_unit": ram_mb},
        }
        self._call(
            "PUT",
            f"/resource_providers/{uuid}/inventories",
            {"resource_provider_generation": 0, "inventories": inventories},
        )

    def delete_provider(self, uuid: str) -> None:
        self._call("DELETE", f"/resource_providers/{uuid}", ok=(404,))

    # ------------------------------------------------------------------ scheduling

    def candidates(self, resources: Mapping[str, int]) -> dict[str, dict[str, Any]]:
        """Provider uuid -> its summary (capacity, used) for every provider that can
        take ``resources`` now, as Placement's ``GET /allocation_candidates`` says."""
        wanted = ",".join(f"{k}:{v}" for k, v in resources.items())
        body = self._call("GET", f"/allocation_candidates?resources={wanted}").json()
        fitting = {rp for request in body["allocation_requests"] for rp in request["allocations"]}
        return {rp: s for rp, s in body["provider_summaries"].items() if rp in fitting}

    def claim(
        self, consumer: str, provider: str, resources: Mapping[str, int], project: str, user: str
    ) -> bool:
        """Replace ``consumer``'s allocations with ``resources`` on ``provider``; False
        when Placement refuses (the provider is full or changed meanwhile: HTTP 409)."""
        r = self._call("GET", f"/allocations/{consumer}")
        generation = r.json().get("consumer_generation")
        body = {
            "allocations": {provider: {"resources": dict(resources)}},
            "project_id": project,
            "user_id": user,
            "consumer_generation": generation,
        }
        r = self._call("PUT", f"/allocations/{consumer}", body, ok=(409,))
        return r.status_code < 300

    def release(self, consumer: str) -> None:
        self._call("DELETE", f"/allocations/{consumer}", ok=(404,))

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        """Provider uuid -> resources held by ``consumer``."""
        body = self._call("GET", f"/allocations/{consumer}").json()
        return {rp: a["resources"] for rp, a in body.get("allocations", {}).items()}
