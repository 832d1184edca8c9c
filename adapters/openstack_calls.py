"""Calling OpenStack safely: SDK and HTTP failures become ``CloudError`` at the adapter
boundary, with retries where retrying is safe.

The rules (the same for Nova, Heat and Senlin):

* 401 — keystoneauth has already re-authenticated once and retried; a second 401 means
  the credentials in clouds.yaml are wrong: error, no retry.
* 403 — a clear error naming the call (the account lacks a role); no retry.
* 404 — the group (server, stack, cluster) is gone; no retry.
* 409 — the resource is busy: error with ``retry_after`` so the engine tries later.
* 413/429 — quota or rate limit: wait for Retry-After and retry when it is short,
  otherwise error carrying ``retry_after``.
* 5xx and transport errors — exponential backoff with jitter, then error.

Every retried call must be idempotent; callers make creates so by looking before
creating inside the retried function.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from autoscaler.adapters.backoff import Backoff, parse_retry_after
from autoscaler.model import CloudError

T = TypeVar("T")
log = logging.getLogger(__name__)
CONFLICT_RETRY_AFTER = 30.0  # seconds; a busy resource rarely frees up sooner


class HttpFailure(Exception):
    """A non-2xx answer from a raw REST call (raised by ``check`` for ``call`` to classify)."""

    def __init__(self, status: int, headers: Any, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.headers = headers
        self.detail = detail


def check(resp: Any) -> Any:
    """``resp`` when it is a success, else raise ``HttpFailure`` with the server's message."""
    if resp.status_code < 400:
        return resp
    raise HttpFailure(resp.status_code, resp.headers, _server_message(resp))


def _server_message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:200]
    # OpenStack error bodies nest the message one or two levels down.
    for _ in range(3):
        if (
            isinstance(body, dict)
            and len(body) == 1
            and isinstance(next(iter(body.values())), dict)
        ):
            body = next(iter(body.values()))
    if isinstance(body, dict):
        for key in ("message", "explanation", "title", "error"):
            if isinstance(body.get(key), str):
                return body[key][:200]
    return str(body)[:200]


def _http_status(exc: BaseException) -> tuple[int, Any, str] | None:
    """(status, headers, message) of an HTTP failure from the SDK or ``check``."""
    if isinstance(exc, HttpFailure):
        return exc.status, exc.headers, exc.detail
    status = getattr(exc, "status_code", None) or getattr(exc, "http_status", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = response.headers if response is not None else {}
        detail = getattr(exc, "details", None) or getattr(exc, "message", None) or str(exc)
        return status, headers, str(detail)[:200]
    return None


def _is_transport(exc: BaseException) -> bool:
    from keystoneauth1 import exceptions as ksa_exc

    return isinstance(
        exc,
        ksa_exc.ConnectFailure
        | ksa_exc.ConnectTimeout
        | ksa_exc.UnknownConnectionError
        | ksa_exc.RetriableConnectionFailure
        | ConnectionError,
    )


def call(fn: Callable[[], T], what: str, backoff: Backoff) -> T:
    """Run ``fn`` under the rules above; ``what`` names the call in errors ("resize web")."""
    for attempt in range(1, backoff.attempts + 1):
        retry_after: float | None = None
        try:
            return fn()
        except CloudError:
            raise
        except Exception as exc:
            http = _http_status(exc)
            if http is None and not _is_transport(exc):
                if _is_auth_failure(exc):
                    raise CloudError(f"{what}: authentication failed: {exc}") from None
                raise
            if http is None:
                last = f"{what}: cannot reach the cloud ({type(exc).__name__})"
            else:
                status, headers, detail = http
                retry_after = parse_retry_after(
                    headers.get("Retry-After") if headers else None,
                    headers.get("Date") if headers else None,
                )
                last = f"{what}: HTTP {status}: {detail}"
                if status == 401:
                    raise CloudError(
                        f"{what}: authentication refused (HTTP 401) after re-authenticating; "
                        "check the credentials in clouds.yaml"
                    ) from None
                if status == 403:
                    raise CloudError(
                        f"{what}: forbidden (HTTP 403): the account lacks a role for this "
                        f"call ({detail})"
                    ) from None
                if status == 404:
                    raise CloudError(
                        f"{what}: not found (HTTP 404), the group is gone: {detail}"
                    ) from None
                if status == 409:
                    raise CloudError(
                        f"{what}: conflict (HTTP 409), retry later: {detail}",
                        retry_after=retry_after or CONFLICT_RETRY_AFTER,
                    ) from None
                if status in (413, 429):
                    if retry_after is None or retry_after > backoff.max_retry_after:
                        raise CloudError(
                            f"{what}: quota or rate limit (HTTP {status}): {detail}",
                            retry_after=retry_after,
                        ) from None
                elif status < 500:
                    raise CloudError(f"{what}: rejected (HTTP {status}): {detail}") from None
            log.warning("%s (attempt %d of %d)", last, attempt, backoff.attempts)
            if attempt < backoff.attempts:
                backoff.wait(attempt, retry_after)
    raise CloudError(f"{last} (after {backoff.attempts} attempts)", retry_after=retry_after)


def _is_auth_failure(exc: BaseException) -> bool:
    from keystoneauth1 import exceptions as ksa_exc

    return isinstance(exc, ksa_exc.AuthorizationFailure | ksa_exc.Unauthorized)
