"""A fake of the Nova, Heat, Senlin and Monasca calls the adapters make, over real HTTP.

One threaded HTTP server on 127.0.0.1 serves every service under its own prefix
(``/compute``, ``/orchestration``, ``/clustering``, ``/monitoring``) so that a real
Keystone catalog can point at it. Only the calls the adapters use are implemented,
with the status codes, bodies and microversion headers of the services' API
references, one module per service (``nova_fake``, ``heat_fake``, ``senlin_fake``,
``monasca_fake``) over the shared HTTP front (``fake_http``). Tokens are checked against
the real Keystone (as keystonemiddleware would). Faults are injected per call: an HTTP
status with headers, a delay, or a connection reset before or after the call takes
effect. Given a real Placement service (``placement``), the fake Nova keeps its
allocations there as Nova does.
"""

from __future__ import annotations

from tests.fakes.fake_http import FakeHttp, Fault, Handler, Reply, TokenCheck
from tests.fakes.heat_fake import HeatFake
from tests.fakes.monasca_fake import MonascaFake
from tests.fakes.nova_fake import NOVA_MAX, NovaFake
from tests.fakes.senlin_fake import CLUSTERING_MEDIA, SENLIN_MAX, SenlinFake

__all__ = ["FakeOpenStack", "Fault", "Reply"]


class FakeOpenStack(NovaFake, HeatFake, SenlinFake, MonascaFake, FakeHttp):
    """State and HTTP front of the fake services. ``url`` is the server's base URL."""

    def __init__(self, validate_token: TokenCheck) -> None:
        self._init_nova()
        self._init_heat()
        self._init_senlin()
        self._init_monasca()
        FakeHttp.__init__(self, validate_token)

    def reset(self) -> None:
        """Back to an empty cloud with default timings (between tests)."""
        with self.lock:
            self._reset_http()
            self._reset_nova()
            self._reset_heat()
            self._reset_senlin()
            self._reset_monasca()

    def catalog(self) -> dict[str, str]:
        """Service type -> endpoint URL, as Keystone's catalog should list them."""
        return {
            "compute": f"{self.url}/compute/v2.1",
            "orchestration": f"{self.url}/orchestration/v1/$(project_id)s",
            "clustering": f"{self.url}/clustering",
            "monitoring": f"{self.url}/monitoring/v2.0",
        }

    def _services(self) -> dict[str, Handler]:
        return {
            "compute": self._nova,
            "orchestration": self._heat,
            "clustering": self._senlin,
            "monitoring": self._monasca,
        }

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
