"""The fake Heat of ``FakeOpenStack``: stacks holding one AutoScalingGroup and its policies."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fakes.fake_http import Reply, error, now_text


class HeatFake:
    """Heat's stack show/update, resource listing and policy signals."""

    url: str

    def _init_heat(self) -> None:
        self.stacks: dict[str, dict[str, Any]] = {}
        self.update_polls = 1

    def _reset_heat(self) -> None:
        self.stacks.clear()
        self.update_polls = 1

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
        return {"id": str(uuid.uuid4()), "created": now_text()}

    def _resize_stack(self, stack: dict[str, Any], size: int) -> None:
        while len(stack["members"]) < size:
            stack["members"].append(self._member())
        del stack["members"][size:]
        stack["size"] = size

    def _heat(self, method: str, rest: str, query: dict[str, list[str]], body: Any,
              headers: Any) -> Reply:  # fmt: skip
        m = re.fullmatch(r"/v1/([^/]+)/stacks/([^/]+)(?:/([^/]+))?(/.*)?", rest)
        if not m:
            return error(404, "error", f"fake heat has no {method} {rest}")
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
                return error(404, "error", f"The Resource ({pm.group(1)}) could not be found.")
            self._resize_stack(stack, max(0, stack["size"] + stack["policies"][pm.group(1)]))
            return Reply(200, None)
        return error(404, "error", f"fake heat has no {method} {rest}")

    def _advance_update(self, stack: dict[str, Any]) -> None:
        if stack["pending"] is None:
            return
        stack["polls"] += 1
        if stack["polls"] > self.update_polls:
            self._resize_stack(stack, stack["pending"])
            stack["pending"] = None
            stack["stack_status"] = "UPDATE_COMPLETE"
