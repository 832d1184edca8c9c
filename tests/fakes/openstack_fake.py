"""A fake of the Nova, Heat, Senlin and Monasca calls the adapters make, over real HTTP.

One threaded HTTP server on 127.0.0.1 serves every service under its own prefix
(``/compute``, ``/orchestration``, ``/clustering``, ``/monitoring``) so that a real
Keystone catalog can point at it. Only the calls the adapters use are implemented,
with the status codes, bodies and microversion headers of the services' API
references. Tokens are checked against the real Keystone (as keystonemiddleware
would). Faults are injected per call: an HTTP status with headers, a delay, or a
connection reset before or after the call takes effect.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOVA_MAX = "2.100"
SENLIN_MAX = "1.14"
CLUSTERING_MEDIA = "application/vnd.openstack.clustering-v1+json"


@dataclass
class Fault:
    """What to do to the next ``times`` requests matching ``method`` and ``path`` (a regex)."""

    method: str
    path: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    reset_before: bool = False  # drop the connection; the call has no effect
    reset_after: bool = False  # carry out the call, then drop the connection unanswered
    times: int = 1
    skip: int = 0  # let this many matching requests through first


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {kind: {"code": status, "message": message}})


class FakeOpenStack:
    """State and HTTP front of the fake services. ``url`` is the server's base URL."""

    def __init__(self, validate_token: Callable[[str], bool]) -> None:
        self._validate = validate_token
        self._valid_tokens: set[str] = set()
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        self.tokens_seen: list[str] = []
        self.microversions: list[str] = []
        # Nova
        self.flavors = {"f-small": {"id": "f-small", "name": "m1.small", "vcpus": 1, "ram": 2048}}
        self.servers: dict[str, dict[str, Any]] = {}
        self.server_groups: dict[str, dict[str, Any]] = {}
        self.build_polls = 1  # GETs of a BUILD server before it turns ACTIVE
        self.fail_boot: set[str] = set()  # server names that go to ERROR
        # Heat
        self.stacks: dict[str, dict[str, Any]] = {}
        self.update_polls = 1
        # Senlin
        self.clusters: dict[str, dict[str, Any]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.action_polls = 1
        self.fail_actions: str | None = None  # a status_reason makes every action FAIL
        # Monasca
        self.measurements: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ test controls

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def reset(self) -> None:
        """Back to an empty cloud with default timings (between tests)."""
        with self.lock:
            self.faults.clear()
            self.log.clear()
            self.tokens_seen.clear()
            self.microversions.clear()
            self.servers.clear()
            self.server_groups.clear()
            self.fail_boot.clear()
            self.stacks.clear()
            self.clusters.clear()
            self.actions.clear()
            self.measurements.clear()
            self.build_polls = self.update_polls = self.action_polls = 1
            self.fail_actions = None

    def forget_tokens(self) -> None:
        """Re-check every token with Keystone from now on (after a revocation)."""
        with self.lock:
            self._valid_tokens.clear()

    def calls(self, method: str, pattern: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.log if m == method and re.search(pattern, p))

    def catalog(self) -> dict[str, str]:
        """Service type -> endpoint URL, as Keystone's catalog should list them."""
        return {
            "compute": f"{self.url}/compute/v2.1",
            "orchestration": f"{self.url}/orchestration/v1/$(project_id)s",
            "clustering": f"{self.url}/clustering",
            "monitoring": f"{self.url}/monitoring/v2.0",
        }

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ HTTP plumbing

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                path, query = split.path, parse_qs(split.query)
                fault = fake._take_fault(self.command, path)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.reset_before:
                    self._drop()
                    return
                if fault and fault.status is not None:
                    reply = Reply(fault.status, fault.body, dict(fault.headers))
                else:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        body = None
                    reply = fake._dispatch(self.command, path, query, body, self.headers)
                with fake.lock:
                    fake.log.append((self.command, path, reply.status))
                if fault and fault.reset_after:
                    self._drop()
                    return
                self._send(reply)

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.shutdown(2)

            def _send(self, reply: Reply) -> None:
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.method == method and re.search(f.path, path):
                    if f.skip > 0:
                        f.skip -= 1
                        return None
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def _authorized(self, headers: Any) -> bool:
        token = headers.get("X-Auth-Token") or ""
        with self.lock:
            self.tokens_seen.append(token)
            if token in self._valid_tokens:
                return True
        if token and self._validate(token):
            with self.lock:
                self._valid_tokens.add(token)
            return True
        return False

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any
    ) -> Reply:
        service, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        handlers = {
            "compute": self._nova,
            "orchestration": self._heat,
            "clustering": self._senlin,
            "monitoring": self._monasca,
        }
        if service not in handlers:
            return _error(404, "itemNotFound", f"no service at {path}")
        if rest.rstrip("/") in ("", "/v2.1", "/v1", "/v2.0") and method == "GET":
            return self._versions(service, rest.rstrip("/"))
        if not self._authorized(headers):
            return Reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                         "message": "The request you have made requires "
                                         "authentication."}},
                         {"WWW-Authenticate": f"Keystone uri='{self.url}'"})  # fmt: skip
        with self.lock:
            return handlers[service](method, rest, query, body, headers)

    def _versions(self, service: str, rest: str) -> Reply:
        base = f"{self.url}/{service}"
        if service == "compute":
            v = {"id": "v2.1", "status": "CURRENT", "version": NOVA_MAX, "min_version": "2.1",
                 "updated": "2013-07-23T11:33:21Z",
                 "links": [{"rel": "self", "href": f"{base}/v2.1/"}]}  # fmt: skip
            return Reply(200, {"version": v}) if rest == "/v2.1" else Reply(200, {"versions": [v]})
        if service == "clustering":
            v = {"id": "1.0", "status": "CURRENT", "min_version": "1.0", "max_version": SENLIN_MAX,
                 "updated": "2016-01-18T00:00:00Z",
                 "links": [{"rel": "self", "href": f"{base}/v1/"}],
                 "media-types": [{"base": "application/json",
                                  "type": CLUSTERING_MEDIA}]}  # fmt: skip
            return Reply(200, {"versions": [v]})
        if service == "orchestration":
            v = {"id": "v1.0", "status": "CURRENT",
                 "links": [{"rel": "self", "href": f"{base}/v1/"}]}  # fmt: skip
            return Reply(300, {"versions": [v]})
        v = {"id": "v2.0", "status": "CURRENT", "updated": "2014-07-18T03:25:02Z",
             "links": [{"rel": "self", "href": f"{base}/v2.0"}]}  # fmt: skip
        return Reply(200, {"version": v} if rest == "/v2.0" else {"versions": [v]})

    # ------------------------------------------------------------------ Nova

    def _nova(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
              headers: Any) -> Reply:  # fmt: skip
        mv = headers.get("OpenStack-API-Version", "") or headers.get(
            "X-OpenStack-Nova-API-Version", ""
        )
        self.microversions.append(mv)
        version = mv.replace("compute", "").strip() or "2.1"
        vh = {"OpenStack-API-Version": f"compute {version}", "Vary": "OpenStack-API-Version"}
        rest = rest.removeprefix("/v2.1")
        if method == "GET" and rest == "/flavors/detail":
            return Reply(200, {"flavors": list(self.flavors.values())}, vh)
        if method == "GET" and rest in ("/servers/detail", "/servers"):
            pattern = query.get("name", [None])[0]
            found = [s for s in self.servers.values()
                     if pattern is None or re.search(pattern, s["name"])]  # fmt: skip
            return Reply(200, {"servers": [self._server_view(s) for s in found]}, vh)
        if method == "POST" and rest == "/servers":
            return self._create_server(body, vh)
        m = re.fullmatch(r"/servers/([^/]+)", rest)
        if m:
            server = self.servers.get(m.group(1))
            if server is None:
                return Reply(404, {"itemNotFound": {"code": 404, "message":
                             f"Instance {m.group(1)} could not be found."}}, vh)  # fmt: skip
            if method == "GET":
                self._advance_build(server)
                return Reply(200, {"server": self._server_view(server)}, vh)
            if method == "DELETE":
                del self.servers[server["id"]]
                return Reply(204, None, vh)
        if rest == "/os-server-groups":
            if method == "GET":
                return Reply(200, {"server_groups": list(self.server_groups.values())}, vh)
            if method == "POST":
                sg = body["server_group"]
                policy = sg.get("policy") or (sg.get("policies") or [None])[0]
                if policy not in ("affinity", "anti-affinity", "soft-affinity",
                                  "soft-anti-affinity"):  # fmt: skip
                    return _error(400, "badRequest", f"Invalid input: policy {policy!r}")
                gid = str(uuid.uuid4())
                self.server_groups[gid] = {"id": gid, "name": sg["name"], "policy": policy,
                                           "rules": {}, "members": [], "project_id": "p",
                                           "user_id": "u"}  # fmt: skip
                return Reply(200, {"server_group": self.server_groups[gid]}, vh)
        return _error(404, "itemNotFound", f"fake nova has no {method} {rest}")

    def _create_server(self, body: Any, vh: dict[str, str]) -> Reply:
        s = (body or {}).get("server") or {}
        for key in ("name", "flavorRef", "imageRef"):
            if not s.get(key):
                return _error(400, "badRequest", f"Invalid input for field/attribute {key}.")
        if s["flavorRef"] not in self.flavors:
            return _error(400, "badRequest", f"Flavor {s['flavorRef']} could not be found.")
        hints = (body or {}).get("OS-SCH-HNT:scheduler_hints") or {}
        if hints.get("group") and hints["group"] not in self.server_groups:
            return _error(400, "badRequest", f"Invalid server group {hints['group']}")
        sid = str(uuid.uuid4())
        self.servers[sid] = {
            "id": sid, "name": s["name"], "status": "BUILD", "polls": 0,
            "metadata": dict(s.get("metadata") or {}), "created": _now(),
            "flavor": self.flavors[s["flavorRef"]], "image": {"id": s["imageRef"]},
            "networks": s.get("networks"), "key_name": s.get("key_name"),
            "user_data": s.get("user_data"), "az": s.get("availability_zone") or "nova",
            "hints": hints, "seq": next(self._seq),
        }  # fmt: skip
        if hints.get("group"):
            self.server_groups[hints["group"]]["members"].append(sid)
        href = f"{self.url}/compute/v2.1/servers/{sid}"
        return Reply(202, {"server": {"id": sid, "links": [{"rel": "self", "href": href}],
                                      "OS-DCF:diskConfig": "MANUAL", "adminPass": "x",
                                      "security_groups": [{"name": "default"}]}},
                     {**vh, "Location": href})  # fmt: skip

    def _advance_build(self, server: dict[str, Any]) -> None:
        if server["status"] != "BUILD":
            return
        server["polls"] += 1
        if server["polls"] >= self.build_polls:
            if server["name"] in self.fail_boot:
                server["status"] = "ERROR"
                server["fault"] = {"code": 500, "message": "No valid host was found. ",
                                   "created": _now()}  # fmt: skip
            else:
                server["status"] = "ACTIVE"

    def _server_view(self, s: dict[str, Any]) -> dict[str, Any]:
        view = {
            "id": s["id"], "name": s["name"], "status": s["status"], "metadata": s["metadata"],
            "created": s["created"], "updated": s["created"], "flavor": s["flavor"],
            "image": s["image"], "key_name": s["key_name"], "addresses": {},
            "tenant_id": "p", "user_id": "u", "hostId": "h", "tags": [],
            "OS-EXT-AZ:availability_zone": s["az"], "OS-EXT-STS:task_state": None,
            "OS-EXT-STS:vm_state": s["status"].lower(), "OS-EXT-STS:power_state": 1,
            "links": [{"rel": "self", "href": f"{self.url}/compute/v2.1/servers/{s['id']}"}],
        }  # fmt: skip
        if "fault" in s:
            view["fault"] = s["fault"]
        return view

    # ------------------------------------------------------------------ Heat

    def add_stack(self, name: str, size: int, *, up: int = 1, down: int = -1) -> dict[str, Any]:
        """A stack with an ``asg`` AutoScalingGroup and ``scale_up``/``scale_down`` policies."""
        sid = str(uuid.uuid4())
        stack = {"id": sid, "stack_name": name, "stack_status": "CREATE_COMPLETE", "polls": 0,
                 "parameters": {"desired_capacity": str(size)}, "size": size, "pending": None,
                 "policies": {"scale_up": up, "scale_down": down},
                 "members": [self._member() for _ in range(size)]}  # fmt: skip
        self.stacks[sid] = stack
        return stack

    def _member(self) -> dict[str, str]:
        return {"id": str(uuid.uuid4()), "created": _now()}

    def _resize_stack(self, stack: dict[str, Any], size: int) -> None:
        while len(stack["members"]) < size:
            stack["members"].append(self._member())
        del stack["members"][size:]
        stack["size"] = size

    def _heat(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
              headers: Any) -> Reply:  # fmt: skip
        m = re.fullmatch(r"/v1/([^/]+)/stacks/([^/]+)(?:/([^/]+))?(/.*)?", rest)
        if not m:
            return _error(404, "error", f"fake heat has no {method} {rest}")
        project, name, sid, tail = m.groups()
        stack = next((s for s in self.stacks.values()
                      if s["stack_name"] == name and sid in (None, s["id"])), None)  # fmt: skip
        if stack is None:
            message = f"The Stack ({name}) could not be found."
            return Reply(404, {"explanation": "The resource could not be found.", "code": 404,
                               "error": {"message": message, "type": "EntityNotFound"},
                               "title": "Not Found"})  # fmt: skip
        base = f"{self.url}/orchestration/v1/{project}/stacks/{name}/{stack['id']}"
        if sid is None:  # Heat redirects a lookup by name to the canonical URL
            return Reply(302, None, {"Location": base + (tail or "")})
        if method == "GET" and not tail:
            self._advance_update(stack)
            view = {k: stack[k] for k in ("id", "stack_name", "stack_status", "parameters")}
            view["links"] = [{"rel": "self", "href": base}]
            return Reply(200, {"stack": view})
        if method == "PATCH" and not tail:
            if stack["stack_status"].endswith("IN_PROGRESS"):
                message = f"Stack {name} already has an action (UPDATE) in progress."
                return Reply(409, {"code": 409, "title": "Conflict", "error": {
                    "type": "ActionInProgress", "message": message}})  # fmt: skip
            params = (body or {}).get("parameters") or {}
            stack["parameters"].update({k: str(v) for k, v in params.items()})
            stack["pending"] = int(stack["parameters"]["desired_capacity"])
            stack["stack_status"] = "UPDATE_IN_PROGRESS"
            stack["polls"] = 0
            return Reply(202, None)
        if method == "GET" and tail == "/resources/asg":
            attrs = (
                {"current_size": stack["size"]}
                if "current_size" in query.get("with_attr", [])
                else {}
            )
            return Reply(200, {"resource": {
                "resource_name": "asg", "resource_type": "OS::Heat::AutoScalingGroup",
                "physical_resource_id": "nested-" + stack["id"],
                "resource_status": "UPDATE_IN_PROGRESS" if stack["pending"] is not None
                else "CREATE_COMPLETE", "attributes": attrs, "links": []}})  # fmt: skip
        if method == "GET" and tail == "/resources":
            return Reply(200, {"resources": [
                {"resource_name": f"m{i}", "resource_type": "OS::Nova::Server",
                 "physical_resource_id": mem["id"], "resource_status": "CREATE_COMPLETE",
                 "creation_time": mem["created"], "parent_resource": "asg", "links": []}
                for i, mem in enumerate(stack["members"])]})  # fmt: skip
        pm = re.fullmatch(r"/resources/([^/]+)/signal", tail or "")
        if method == "POST" and pm:
            if pm.group(1) not in stack["policies"]:
                return _error(404, "error", f"The Resource ({pm.group(1)}) could not be found.")
            self._resize_stack(stack, max(0, stack["size"] + stack["policies"][pm.group(1)]))
            return Reply(200, None)
        return _error(404, "error", f"fake heat has no {method} {rest}")

    def _advance_update(self, stack: dict[str, Any]) -> None:
        if stack["pending"] is None:
            return
        stack["polls"] += 1
        if stack["polls"] > self.update_polls:
            self._resize_stack(stack, stack["pending"])
            stack["pending"] = None
            stack["stack_status"] = "UPDATE_COMPLETE"

    # ------------------------------------------------------------------ Senlin

    def add_cluster(self, name: str, size: int) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        cluster = {"id": cid, "name": name, "status": "ACTIVE", "desired_capacity": size,
                   "min_size": 0, "max_size": -1, "nodes": []}  # fmt: skip
        self.clusters[cid] = cluster
        self._set_nodes(cluster, size)
        return cluster

    def _set_nodes(self, cluster: dict[str, Any], size: int, victims: list[str] = ()) -> None:
        cluster["nodes"] = [n for n in cluster["nodes"] if n["id"] not in victims]
        while len(cluster["nodes"]) < size:
            cluster["nodes"].append({"id": str(uuid.uuid4()), "physical_id": str(uuid.uuid4()),
                                     "status": "ACTIVE", "created_at": _now(),
                                     "cluster_id": cluster["id"]})  # fmt: skip
        del cluster["nodes"][size:]
        cluster["desired_capacity"] = len(cluster["nodes"])

    def _senlin(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
                headers: Any) -> Reply:  # fmt: skip
        mv = headers.get("OpenStack-API-Version", "")
        self.microversions.append(mv)
        version = mv.replace("clustering", "").strip() or "1.0"
        vh = {"OpenStack-API-Version": f"clustering {version}", "Vary": "OpenStack-API-Version"}
        m = re.fullmatch(r"/v1/clusters/([^/]+)(/actions)?", rest)
        if m:
            cluster = next((c for c in self.clusters.values()
                            if m.group(1) in (c["id"], c["name"])), None)  # fmt: skip
            if cluster is None:
                return Reply(404, {"code": 404, "error": {"code": 404, "type": "ResourceNotFound",
                                   "message": f"The cluster '{m.group(1)}' could not be found."},
                                   "explanation": "The resource could not be found.",
                                   "title": "Not Found"}, vh)  # fmt: skip
            if method == "GET" and not m.group(2):
                view = {k: cluster[k] for k in ("id", "name", "status", "desired_capacity",
                                                "min_size", "max_size")}  # fmt: skip
                view["nodes"] = [n["id"] for n in cluster["nodes"]]
                return Reply(200, {"cluster": view}, vh)
            if method == "POST" and m.group(2):
                return self._cluster_action(cluster, body or {}, vh)
        m = re.fullmatch(r"/v1/actions/([^/]+)", rest)
        if m and method == "GET":
            action = self.actions.get(m.group(1))
            if action is None:
                return _error(404, "error", f"The action '{m.group(1)}' could not be found.")
            self._advance_action(action)
            view = {k: v for k, v in action.items() if k not in ("polls", "apply")}
            return Reply(200, {"action": view}, vh)
        if rest == "/v1/nodes" and method == "GET":
            cid = query.get("cluster_id", [""])[0]
            cluster = next((c for c in self.clusters.values() if cid in (c["id"], c["name"])), None)
            return Reply(200, {"nodes": list(cluster["nodes"]) if cluster else []}, vh)
        return _error(404, "error", f"fake senlin has no {method} {rest}")

    def _cluster_action(self, cluster: dict[str, Any], body: dict[str, Any],
                        vh: dict[str, str]) -> Reply:  # fmt: skip
        if cluster["status"] != "ACTIVE":
            return Reply(409, {"code": 409, "error": {"code": 409, "type": "ResourceInUse",
                               "message": f"The cluster {cluster['id']} is in status "
                               f"{cluster['status']}."}}, vh)  # fmt: skip
        if "resize" in body:
            spec = body["resize"]
            kind, number = spec.get("adjustment_type"), int(spec.get("number", 0))
            if kind == "EXACT_CAPACITY":
                target = number
            elif kind == "CHANGE_IN_CAPACITY":
                target = cluster["desired_capacity"] + number
            else:
                return _error(400, "error", f"Invalid adjustment_type {kind!r}")
            target = max(0, target)

            def apply() -> None:
                self._set_nodes(cluster, target)

            name = "CLUSTER_RESIZE"
        elif "del_nodes" in body:
            victims = list(body["del_nodes"].get("nodes") or [])
            unknown = [v for v in victims if v not in {n["id"] for n in cluster["nodes"]}]
            if unknown:
                return _error(400, "error", f"Nodes not found: {unknown}")

            def apply() -> None:
                self._set_nodes(cluster, len(cluster["nodes"]) - len(victims), victims)

            name = "CLUSTER_DEL_NODES"
        else:
            return _error(400, "error", f"Unrecognized action {sorted(body)}")
        aid = str(uuid.uuid4())
        cluster["status"] = "RESIZING"
        self.actions[aid] = {"id": aid, "name": f"{name.lower()}_{aid[:8]}", "action": name,
                             "target": cluster["id"], "status": "RUNNING", "status_reason": "",
                             "polls": 0, "apply": apply, "cluster": cluster}  # fmt: skip
        return Reply(202, {"action": aid}, {**vh, "Location": f"/v1/actions/{aid}"})

    def _advance_action(self, action: dict[str, Any]) -> None:
        if action["status"] != "RUNNING":
            return
        action["polls"] += 1
        if action["polls"] >= self.action_polls:
            action["cluster"]["status"] = "ACTIVE"
            if self.fail_actions:
                action["status"] = "FAILED"
                action["status_reason"] = self.fail_actions
                return
            action["apply"]()
            action["status"] = "SUCCEEDED"
            action["status_reason"] = "Action completed successfully."
            action["cluster"]["status"] = "ACTIVE"

    # ------------------------------------------------------------------ Monasca

    def _monasca(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
                 headers: Any) -> Reply:  # fmt: skip
        rest = rest.removeprefix("/v2.0")
        if method == "POST" and rest == "/metrics":
            items = body if isinstance(body, list) else [body]
            for it in items:
                if not isinstance(it, dict) or not {"name", "timestamp", "value"} <= it.keys():
                    return Reply(422, {"unprocessable_entity": {"code": 422, "message":
                                 "name, timestamp and value are required"}})  # fmt: skip
                self.measurements.append({"dimensions": {}, **it})
            return Reply(204)
        if method != "GET" or rest not in ("/metrics/measurements", "/metrics/statistics"):
            return _error(404, "not_found", f"fake monasca has no {method} {rest}")
        q = {k: v[0] for k, v in query.items()}
        if "name" not in q or "start_time" not in q:
            return Reply(422, {"unprocessable_entity": {"code": 422,
                         "message": "name and start_time are required"}})  # fmt: skip
        want = dict(d.split(":", 1) for d in q.get("dimensions", "").split(",") if d)
        start = datetime.fromisoformat(q["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(q.get("end_time", _now()).replace("Z", "+00:00"))
        series: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = {}
        for meas in self.measurements:
            t = datetime.fromtimestamp(meas["timestamp"] / 1000, UTC)
            dims = meas["dimensions"]
            if (
                meas["name"] == q["name"]
                and start <= t < end
                and all(dims.get(k) == v for k, v in want.items())
            ):
                series.setdefault(tuple(sorted(dims.items())), []).append(meas)
        merge = q.get("merge_metrics", "false").lower() == "true"
        group_by = q.get("group_by")
        if len(series) > 1 and not merge and not group_by:
            message = "Multiple metrics exist. Specify merge_metrics or group_by."
            return Reply(409, {"conflict": {"code": 409, "message": message}})
        groups = (
            {k: v for k, v in series.items()}
            if group_by
            else {(): [m for ms in series.values() for m in ms]}
            if series
            else {}
        )
        elements = []
        for i, (dims, ms) in enumerate(groups.items()):
            ms = sorted(ms, key=lambda m: m["timestamp"])
            el: dict[str, Any] = {"id": str(i), "name": q["name"], "dimensions": dict(dims)}
            if rest.endswith("measurements"):
                el["columns"] = ["timestamp", "value", "value_meta"]
                el["measurements"] = [
                    [datetime.fromtimestamp(m["timestamp"] / 1000, UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"), m["value"], m.get("value_meta") or {}]
                    for m in ms
                ]  # fmt: skip
            else:
                stats = q.get("statistics", "avg").split(",")
                period = timedelta(seconds=int(q.get("period", "300")))
                buckets: dict[datetime, list[float]] = {}
                for meas in ms:
                    t = datetime.fromtimestamp(meas["timestamp"] / 1000, UTC)
                    b = start + ((t - start) // period) * period
                    buckets.setdefault(b, []).append(float(meas["value"]))
                fn = {"avg": statistics.fmean, "min": min, "max": max, "sum": sum,
                      "count": len}  # fmt: skip
                el["columns"] = ["timestamp", *stats]
                el["statistics"] = [
                    [b.strftime("%Y-%m-%dT%H:%M:%SZ"), *(fn[s](v) for s in stats)]
                    for b, v in sorted(buckets.items())
                ]
            elements.append(el)
        return Reply(200, {"links": [{"rel": "self", "href": f"{self.url}/monitoring/v2.0{rest}"}],
                           "elements": elements})  # fmt: skip
