"""The fake Nova of ``FakeOpenStack``: servers, flavors, server groups, availability zones
and live migration, following the compute API reference.

With ``placement`` set (a ``PlacementClient`` on the real Placement service) it behaves
as Nova does with its compute nodes: each node added by ``add_compute_host`` is a
resource provider with VCPU and MEMORY_MB inventory; a boot asks Placement for
allocation candidates, filters and weighs them (``nova_scheduler``), claims the winner's
allocation under the server's id, and goes to ERROR with "No valid host was found" when
none is left; a delete releases it; a live migration moves it. Without ``placement``
servers have no host, as before.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
from typing import Any

from tests.fakes.fake_http import Reply, error, now_text
from tests.fakes.nova_scheduler import Request, schedule
from tests.fakes.placement_client import PlacementClient

NOVA_MAX = "2.100"
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


class NovaFake:
    url: str
    placement: PlacementClient | None

    def _init_nova(self) -> None:
        self.flavors = {"f-small": {"id": "f-small", "name": "m1.small", "vcpus": 1, "ram": 2048}}
        self.servers: dict[str, dict[str, Any]] = {}
        self.server_groups: dict[str, dict[str, Any]] = {}
        self.compute_hosts: dict[str, dict[str, Any]] = {}  # name -> {"uuid", "zone"}
        self.build_polls = 1  # GETs of a BUILD server before it turns ACTIVE
        self.migration_polls = 1  # GETs of a MIGRATING server before it lands
        self.fail_boot: set[str] = set()  # server names that go to ERROR
        self.migrations: list[dict[str, Any]] = []
        self.placement = None
        self._seq = itertools.count(1)

    def _reset_nova(self) -> None:
        if self.placement is not None:
            for sid in self.servers:
                self.placement.release(sid)
            for h in self.compute_hosts.values():
                self.placement.delete_provider(h["uuid"])
        self.servers.clear()
        self.server_groups.clear()
        self.compute_hosts.clear()
        self.fail_boot.clear()
        self.migrations.clear()
        self.build_polls = self.migration_polls = 1

    def add_compute_host(
        self,
        name: str,
        zone: str = "nova",
        vcpus: int = 4,
        ram_mb: int = 65536,
        cpu_ratio: float = 4.0,
        ram_ratio: float = 1.0,
    ) -> str:
        """A compute node registered in Placement (as nova-compute does at start); its uuid."""
        assert self.placement is not None, "compute hosts need the Placement service"
        rp = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.{self.url}"))
        self.placement.add_provider(name, rp, vcpus, ram_mb, cpu_ratio, ram_ratio)
        with self.lock:  # type: ignore[attr-defined]
            self.compute_hosts[name] = {"uuid": rp, "zone": zone}
        return rp

    def host_of(self, server_id: str) -> str | None:
        return self.servers[server_id].get("host")

    # ------------------------------------------------------------------ HTTP

    def _nova(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
              headers: Any) -> Reply:  # fmt: skip
        mv = headers.get("OpenStack-API-Version", "") or headers.get(
            "X-OpenStack-Nova-API-Version", ""
        )
        self.microversions.append(mv)  # type: ignore[attr-defined]
        version = mv.replace("compute", "").strip() or "2.1"
        vh = {"OpenStack-API-Version": f"compute {version}", "Vary": "OpenStack-API-Version"}
        admin = "admin" in self.roles(headers)  # type: ignore[attr-defined]
        rest = rest.removeprefix("/v2.1")
        if method == "GET" and rest == "/flavors/detail":
            return Reply(200, {"flavors": list(self.flavors.values())}, vh)
        if method == "GET" and rest in ("/servers/detail", "/servers"):
            pattern = query.get("name", [None])[0]
            found = [s for s in self.servers.values()
                     if pattern is None or re.search(pattern, s["name"])]  # fmt: skip
            return Reply(200, {"servers": [self._server_view(s, admin) for s in found]}, vh)
        if method == "POST" and rest == "/servers":
            return self._create_server(body, vh, _version(version), admin)
        if method == "GET" and rest == "/os-availability-zone/detail":
            if not admin:
                return self._forbidden("os_compute_api:os-availability-zone:detail", vh)
            return Reply(200, {"availabilityZoneInfo": self._zones()}, vh)
        m = re.fullmatch(r"/servers/([^/]+)(/action)?", rest)
        if m:
            server = self.servers.get(m.group(1))
            if server is None:
                return Reply(404, {"itemNotFound": {"code": 404, "message":
                             f"Instance {m.group(1)} could not be found."}}, vh)  # fmt: skip
            if method == "GET" and not m.group(2):
                self._advance(server)
                return Reply(200, {"server": self._server_view(server, admin)}, vh)
            if method == "DELETE" and not m.group(2):
                del self.servers[server["id"]]
                if self.placement is not None:
                    self.placement.release(server["id"])
                return Reply(204, None, vh)
            if method == "POST" and m.group(2) and "os-migrateLive" in (body or {}):
                if not admin:
                    return self._forbidden("os_compute_api:os-migrate-server:migrate_live", vh)
                return self._live_migrate(server, body["os-migrateLive"], vh)
        if rest == "/os-server-groups":
            if method == "GET":
                return Reply(200, {"server_groups": list(self.server_groups.values())}, vh)
            if method == "POST":
                return self._create_server_group(body["server_group"], vh)
        return error(404, "itemNotFound", f"fake nova has no {method} {rest}")

    def _forbidden(self, rule: str, vh: dict[str, str]) -> Reply:
        return Reply(403, {"forbidden": {"code": 403, "message":
                     f"Policy doesn't allow {rule} to be performed."}}, vh)  # fmt: skip

    def _create_server_group(self, sg: dict[str, Any], vh: dict[str, str]) -> Reply:
        policy = sg.get("policy") or (sg.get("policies") or [None])[0]
        if policy not in POLICIES:
            return error(400, "badRequest", f"Invalid input: policy {policy!r}")
        rules = dict(sg.get("rules") or {})
        if rules and policy != "anti-affinity":
            return error(400, "badRequest", "Only anti-affinity policy supports rules.")
        gid = str(uuid.uuid4())
        self.server_groups[gid] = {"id": gid, "name": sg["name"], "policy": policy,
                                   "rules": rules, "members": [], "project_id": "p",
                                   "user_id": "u"}  # fmt: skip
        return Reply(200, {"server_group": self.server_groups[gid]}, vh)

    def _create_server(
        self, body: Any, vh: dict[str, str], version: tuple[int, int], admin: bool
    ) -> Reply:
        s = (body or {}).get("server") or {}
        for key in ("name", "flavorRef", "imageRef"):
            if not s.get(key):
                return error(400, "badRequest", f"Invalid input for field/attribute {key}.")
        if s["flavorRef"] not in self.flavors:
            return error(400, "badRequest", f"Flavor {s['flavorRef']} could not be found.")
        wanted = s.get("hypervisor_hostname") or s.get("host")
        if wanted is not None and version < (2, 74):
            return error(400, "badRequest", "Additional properties are not allowed "
                         "('host', 'hypervisor_hostname' were unexpected)")  # fmt: skip
        if wanted is not None and not admin:
            return self._forbidden("compute:servers:create:requested_destination", vh)
        zone, _, forced = (s.get("availability_zone") or "").partition(":")
        if forced and not admin:
            return self._forbidden("os_compute_api:servers:create:forced_host", vh)
        hints = (body or {}).get("OS-SCH-HNT:scheduler_hints") or {}
        group = self.server_groups.get(hints.get("group", ""))
        if hints.get("group") and group is None:
            return error(400, "badRequest", f"Invalid server group {hints['group']}")
        sid = str(uuid.uuid4())
        flavor = self.flavors[s["flavorRef"]]
        self.servers[sid] = {
            "id": sid, "name": s["name"], "status": "BUILD", "polls": 0,
            "metadata": dict(s.get("metadata") or {}), "created": now_text(),
            "flavor": flavor, "image": {"id": s["imageRef"]},
            "networks": s.get("networks"), "key_name": s.get("key_name"),
            "user_data": s.get("user_data"), "az": zone or "nova",
            "hints": hints, "seq": next(self._seq), "host": None,
            "requested_host": wanted or forced or None,
        }  # fmt: skip
        if self.placement is not None:
            self._boot_on_a_host(self.servers[sid], Request(
                host=wanted or forced or None, zone=zone or None,
                different_host=tuple(_ids(hints.get("different_host"))),
                same_host=tuple(_ids(hints.get("same_host"))),
                group_policy=group["policy"] if group else None,
                group_members=tuple(group["members"]) if group else (),
                max_server_per_host=int((group or {}).get("rules", {}).get(
                    "max_server_per_host", 1)),
            ))  # fmt: skip
        if group is not None:
            group["members"].append(sid)
        href = f"{self.url}/compute/v2.1/servers/{sid}"
        return Reply(202, {"server": {"id": sid, "links": [{"rel": "self", "href": href}],
                                      "OS-DCF:diskConfig": "MANUAL", "adminPass": "x",
                                      "security_groups": [{"name": "default"}]}},
                     {**vh, "Location": href})  # fmt: skip

    def _resources(self, server: dict[str, Any]) -> dict[str, int]:
        return {"VCPU": server["flavor"]["vcpus"], "MEMORY_MB": server["flavor"]["ram"]}

    def _boot_on_a_host(self, server: dict[str, Any], request: Request) -> None:
        """Schedule and claim as the conductor does; NoValidHost marks the server."""
        assert self.placement is not None
        resources = self._resources(server)
        host_of = {sid: s.get("host") for sid, s in self.servers.items()}
        for _ in range(3):  # a claim lost to a concurrent one is rescheduled, as in Nova
            candidates = self.placement.candidates(resources)
            host = schedule(request, candidates, self.compute_hosts, host_of)
            if host is None:
                break
            rp = self.compute_hosts[host]["uuid"]
            if self.placement.claim(server["id"], rp, resources, "p", "u"):
                server["host"] = host
                server["az"] = self.compute_hosts[host]["zone"]
                return
        server["fault"] = {"code": 500, "message": NO_VALID_HOST, "created": now_text()}
        server["no_valid_host"] = True

    def _live_migrate(self, server: dict[str, Any], args: dict[str, Any],
                      vh: dict[str, str]) -> Reply:  # fmt: skip
        if server["status"] != "ACTIVE":
            return Reply(409, {"conflictingRequest": {"code": 409, "message":
                         f"Cannot 'os-migrateLive' instance {server['id']} while it is in "
                         f"vm_state {server['status'].lower()}"}}, vh)  # fmt: skip
        target = args.get("host")
        record = {"server": server["id"], "source": server["host"], "dest": target,
                  "status": "error"}  # fmt: skip
        self.migrations.append(record)
        if self.placement is None or target == server["host"]:
            return error(400, "badRequest", f"cannot live-migrate {server['id']} to {target}")
        host_of = {sid: s.get("host") for sid, s in self.servers.items() if sid != server["id"]}
        candidates = self.placement.candidates(self._resources(server))
        chosen = schedule(Request(host=target), candidates, self.compute_hosts, host_of)
        # The allocation moves to the destination at once (Nova holds the source's under
        # the migration record until it completes; a fake need not).
        if chosen is not None and self.placement.claim(
            server["id"], self.compute_hosts[chosen]["uuid"], self._resources(server), "p", "u"
        ):
            record["status"] = "running"
            server.update(status="MIGRATING", polls=0, dest=chosen)
        return Reply(202, None, vh)

    def _advance(self, server: dict[str, Any]) -> None:
        if server["status"] == "MIGRATING":
            server["polls"] += 1
            if server["polls"] >= self.migration_polls:
                for m in self.migrations:
                    if m["server"] == server["id"] and m["status"] == "running":
                        m["status"] = "completed"
                server.update(status="ACTIVE", host=server.pop("dest"))
                server["az"] = self.compute_hosts[server["host"]]["zone"]
            return
        if server["status"] != "BUILD":
            return
        server["polls"] += 1
        if server["polls"] >= self.build_polls:
            if server["name"] in self.fail_boot or server.get("no_valid_host"):
                server["status"] = "ERROR"
                server.setdefault("fault", {"code": 500, "message": "No valid host was found. ",
                                            "created": now_text()})  # fmt: skip
            else:
                server["status"] = "ACTIVE"

    def _zones(self) -> list[dict[str, Any]]:
        zones: dict[str, dict[str, Any]] = {}
        for name, h in self.compute_hosts.items():
            zones.setdefault(h["zone"], {})[name] = {
                "nova-compute": {"available": True, "active": True, "updated_at": now_text()}
            }
        return [{"zoneName": z, "zoneState": {"available": True}, "hosts": hosts}
                for z, hosts in zones.items()]  # fmt: skip

    def _server_view(self, s: dict[str, Any], admin: bool = False) -> dict[str, Any]:
        host = s.get("host")
        view = {
            "id": s["id"], "name": s["name"], "status": s["status"], "metadata": s["metadata"],
            "created": s["created"], "updated": s["created"], "flavor": s["flavor"],
            "image": s["image"], "key_name": s["key_name"], "addresses": {},
            "tenant_id": "p", "user_id": "u", "tags": [],
            # what a non-admin sees of the host: an opaque digest of project and host
            "hostId": hashlib.sha224(f"p{host}".encode()).hexdigest() if host else "",
            "OS-EXT-AZ:availability_zone": s["az"], "OS-EXT-STS:vm_state": s["status"].lower(),
            "OS-EXT-STS:task_state": "migrating" if s["status"] == "MIGRATING" else None,
            "OS-EXT-STS:power_state": 1,
            "links": [{"rel": "self", "href": f"{self.url}/compute/v2.1/servers/{s['id']}"}],
        }  # fmt: skip
        if admin:  # the extended server attributes are admin-only (default policy)
            view["OS-EXT-SRV-ATTR:host"] = host
            view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = host
        if "fault" in s and s["status"] == "ERROR":
            view["fault"] = s["fault"]
        return view


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
