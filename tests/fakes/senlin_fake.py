"""The fake Senlin of ``FakeOpenStack``: clusters, nodes and asynchronous actions."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fakes.fake_http import Reply, error, now_text

SENLIN_MAX = "1.14"
CLUSTERING_MEDIA = "application/vnd.openstack.clustering-v1+json"


class SenlinFake:
    """Senlin's cluster show, resize and del_nodes actions, node listing, action show."""

    microversions: list[str]

    def _init_senlin(self) -> None:
        self.clusters: dict[str, dict[str, Any]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.action_polls = 1
        self.fail_actions: str | None = None  # a status_reason makes every action FAIL

    def _reset_senlin(self) -> None:
        self.clusters.clear()
        self.actions.clear()
        self.action_polls = 1
        self.fail_actions = None

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
                                     "status": "ACTIVE", "created_at": now_text(),
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
                return error(404, "error", f"The action '{m.group(1)}' could not be found.")
            self._advance_action(action)
            view = {k: v for k, v in action.items() if k not in ("polls", "apply")}
            return Reply(200, {"action": view}, vh)
        if rest == "/v1/nodes" and method == "GET":
            cid = query.get("cluster_id", [""])[0]
            cluster = next((c for c in self.clusters.values() if cid in (c["id"], c["name"])), None)
            return Reply(200, {"nodes": list(cluster["nodes"]) if cluster else []}, vh)
        return error(404, "error", f"fake senlin has no {method} {rest}")

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
                return error(400, "error", f"Invalid adjustment_type {kind!r}")
            target = max(0, target)

            def apply() -> None:
                self._set_nodes(cluster, target)

            name = "CLUSTER_RESIZE"
        elif "del_nodes" in body:
            victims = list(body["del_nodes"].get("nodes") or [])
            unknown = [v for v in victims if v not in {n["id"] for n in cluster["nodes"]}]
            if unknown:
                return error(400, "error", f"Nodes not found: {unknown}")

            def apply() -> None:
                self._set_nodes(cluster, len(cluster["nodes"]) - len(victims), victims)

            name = "CLUSTER_DEL_NODES"
        else:
            return error(400, "error", f"Unrecognized action {sorted(body)}")
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
