"""``FleetMember``: this daemon's place in a fleet coordinated through tooz.

Every heartbeat the member refreshes its membership, reads the group's members and
places every configured scaling group on a consistent hash ring of them; it evaluates
only the groups the ring gives it. A group that comes to it is leased in the shared
database (the fencing epoch grows), its interrupted actions are reconciled against the
cloud, and only then is it evaluated. A join or a departure therefore moves groups
within one heartbeat; a member that dies moves its groups once the backend drops it
(``membership_timeout``).

Fail closed: when the backend cannot be reached the member holds every group (owns
none) and says why in its readiness. Its view of the ring is trusted for at most
``membership_timeout - heartbeat`` after the last heartbeat that succeeded, which is
shorter than the time the others wait before taking its groups; the lease epoch,
checked by the database on every acting write, covers whatever slips through.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from autoscaler.config.coordination import CoordinationConfig
from autoscaler.daemon.shared_state import SharedStateStore
from autoscaler.daemon.state import StateError

# Called with the groups just leased to this member, before their first tick
# (``on_acquire``: reconcile them), and once they may be evaluated (``on_active``).
AcquireHook = Callable[[list[str]], None]
NAMES_LOGGED = 20  # a take-over log line names at most this many groups


def default_member_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def backend_url_with_timeouts(url: str, config: CoordinationConfig) -> str:
    """``url`` with our timing as tooz options, unless the URL sets them itself:
    ``timeout`` (redis: socket timeout; etcd3: lease TTL; zookeeper: session timeout)
    and ``membership_timeout`` (redis: how long a silent member stays in the group)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    seconds = config.membership_timeout.total_seconds()
    options.setdefault("timeout", str(max(1, math.ceil(seconds))))
    options.setdefault("membership_timeout", f"{seconds:g}")
    return urlunsplit(parts._replace(query=urlencode(options)))


def redact_url(url: str) -> str:
    """``url`` without a password (``redis://:secret@host`` -> ``redis://***@host``)."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}{sep}***@{host}" if at and creds else url


class FleetMember:
    """Membership, the ring and this member's leases. Thread-safe.

    Tests and the benchmark pass their own backend URL and, to step its trust window,
    their own ``monotonic`` clock; nothing is patched.
    """

    def __init__(
        self,
        config: CoordinationConfig,
        store: SharedStateStore,
        groups: Callable[[], Iterable[str]],
        *,
        member_id: str | None = None,
        on_acquire: AcquireHook | None = None,
        on_active: AcquireHook | None = None,
        log: Any = None,
        registry: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        assert config.backend_url is not None
        self.config = config
        self.url = config.backend_url
        self.member_id = member_id or config.member_id or default_member_id()
        self.store = store
        self._groups = groups
        self.on_acquire = on_acquire
        self.on_active = on_active
        self.log = log
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._epochs: dict[str, int] = {}  # leased to us (reconciling or active)
        self._active: set[str] = set()  # leased and reconciled: evaluated
        self._members: list[str] = []
        self._paused: frozenset[str] = frozenset()  # as of the last heartbeat
        self._connected = False
        self._joined = False
        self._started = False
        self._last_ok: float | None = None
        self._error = "not yet connected"
        self._coordinator: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trust = (config.membership_timeout - config.heartbeat).total_seconds()
        self._register_gauges(registry)

    # ---------------------------------------------------------------- what the daemon asks

    def owns(self, group: str) -> bool:
        """True when this member may evaluate ``group`` now."""
        with self._lock:
            return self._fresh() and group in self._active

    def epoch(self, group: str) -> int | None:
        """The lease epoch this member holds for ``group`` (the store's fence)."""
        with self._lock:
            return self._epochs.get(group) if self._fresh() else None

    def owned(self) -> list[str]:
        with self._lock:
            return sorted(self._active) if self._fresh() else []

    def paused(self) -> frozenset[str]:
        """The groups paused in the shared database at the last heartbeat."""
        with self._lock:
            return self._paused

    def members(self) -> list[str]:
        with self._lock:
            return list(self._members)

    def not_ready_reasons(self) -> list[str]:
        with self._lock:
            if self._fresh():
                return []
            return [
                f"coordination: cannot reach {redact_url(self.url)}: {self._error}; "
                "holding every group (no action) until it is back"
            ]

    def _fresh(self) -> bool:
        return (
            self._connected
            and self._last_ok is not None
            and self._monotonic() - self._last_ok < self._trust
        )

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Connect, take a first share (a failure leaves the member holding, not dead)
        and beat every ``heartbeat`` on a thread."""
        self.connect()
        self.step()
        self._thread = threading.Thread(target=self._run, name="fleet-heartbeat", daemon=True)
        self._thread.start()

    def connect(self) -> None:
        """Make the tooz coordinator (no I/O yet: the first ``step`` starts it)."""
        from tooz import coordination

        self._coordinator = coordination.get_coordinator(
            backend_url_with_timeouts(self.url, self.config), self.member_id.encode()
        )

    def stop(self) -> None:
        """Leave the group (the others take our groups at their next heartbeat)."""
        self._stop.set()
        if self._thread is not None:
            # Bounded: the stop budget is systemd's 10 s, and a hung beat times out anyway.
            self._thread.join(1.0)
        with self._lock:
            self._active.clear()
            self._epochs.clear()
        if self._coordinator is not None:
            try:
                if self._joined:
                    self._coordinator.leave_group(self.config.group.encode()).get(timeout=1)
                self._coordinator.stop()
            except Exception:  # leaving is a courtesy: the backend expires us anyway
                pass

    def _run(self) -> None:
        period = self.config.heartbeat.total_seconds()
        while not self._stop.wait(period):
            self.step()

    # ---------------------------------------------------------------- one heartbeat

    def step(self) -> None:
        """Heartbeat, read the members, rebalance. Never raises."""
        # Trust is counted from before the beat was sent: the backend's expiry runs from
        # when it got the beat, never earlier, however slow the reads after it are.
        sent = self._monotonic()
        try:
            members = self._heartbeat()
        except Exception as exc:  # tooz wraps backend failures in many types
            self._fail(exc)
            return
        mine = set(share(self._groups(), members, self.member_id))
        try:
            # A lease someone else took while we looked away is void: take it again.
            held = self.store.leases_held()
            # A pause may come through any member's API: the owner follows it.
            paused = frozenset(self.store.paused())
        except StateError:
            held = None  # cannot check now; the fence still refuses a stale write
            paused = None  # and begin_action still refuses to act on a paused group
        with self._lock:
            if paused is not None:
                self._paused = paused
            gap = sent - self._last_ok if self._last_ok is not None else 0.0
            lapsed = gap >= self._trust and bool(self._epochs)
            if lapsed:
                # Our view lapsed since the last beat: the others may have taken our
                # groups and back; lease and reconcile them again, as after a partition.
                self._epochs.clear()
                self._active.clear()
            self._connected = True
            self._last_ok = sent
            self._members = sorted(members)
            for g in list(self._epochs):
                if g not in mine or (held is not None and held.get(g) != self._epochs[g]):
                    self._epochs.pop(g, None)
                    self._active.discard(g)
            new = sorted(mine - set(self._epochs))
        if lapsed:
            self._note(
                "warning",
                f"no heartbeat for {gap:.1f}s, longer than this member trusts its view "
                "of the ring; leasing and reconciling its groups again",
            )
        if new:
            self._acquire(new)

    def _heartbeat(self) -> list[str]:
        from tooz import coordination

        name = self.config.group.encode()
        coordinator = self._coordinator
        if not self._started:  # unreachable at start: the first beats retry it
            coordinator.start(start_heart=False)
            self._started = True
        # Alive before joining: a member seen in the group without a heartbeat is
        # dropped by whoever reads the members next.
        coordinator.heartbeat()
        for _ in range(2):
            if not self._joined:
                # Also after the backend lost its data (a restart): create and join again.
                with contextlib.suppress(coordination.GroupAlreadyExist):
                    coordinator.create_group(name).get(timeout=2)
                with contextlib.suppress(coordination.MemberAlreadyExist):
                    coordinator.join_group(name).get(timeout=2)
                self._joined = True
            members = coordinator.get_members(name).get(timeout=2)
            ids = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
            if self.member_id in ids:
                return ids
            self._joined = False  # dropped while we were away: join again at once
        raise ConnectionError("this member keeps being dropped from the group")

    def _acquire(self, groups: list[str]) -> None:
        """Lease ``groups`` (one statement), reconcile them, then evaluate them."""
        try:
            epochs = self.store.take_leases(groups)
        except StateError as exc:  # retried at the next heartbeat
            self._note("error", f"cannot lease {len(groups)} group(s): {exc}")
            return
        leased = sorted(epochs)
        self.store.forget_groups(leased)
        with self._lock:
            self._epochs.update(epochs)
        if leased and self.on_acquire is not None:
            try:
                self.on_acquire(leased)
            except Exception as exc:  # not reconciled: not evaluated; retried next beat
                with self._lock:
                    for g in leased:
                        self._epochs.pop(g, None)
                self._note("error", f"taking over groups failed: {exc}")
                return
        with self._lock:
            self._active.update(g for g in leased if g in self._epochs)
        if leased:
            self._note("info", f"took over {len(leased)} group(s)", groups=_names(leased))
        if leased and self.on_active is not None:
            self.on_active(leased)

    def _fail(self, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()
        with self._lock:
            was = self._connected
            self._connected = False
            self._joined = False
            # Whatever we held may be someone else's by the time we are back.
            self._epochs.clear()
            self._active.clear()
            self._error = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
        if was:
            self._note("error", f"coordination lost ({self._error}); holding every group")

    def _note(self, level: str, message: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.event(level, message, member=self.member_id, **fields)

    def _register_gauges(self, registry: Any) -> None:
        """Gauges read at scrape time: a member whose heartbeat hangs shows 0 at once."""
        if registry is None:
            return
        from prometheus_client import Gauge

        def read(value: Callable[[], int]) -> Callable[[], int]:
            def locked() -> int:
                with self._lock:
                    return value() if self._fresh() else 0

            return locked

        Gauge(
            "autoscaler_coordination_connected",
            "1 while this member reaches the coordination backend (else it holds every group)",
            registry=registry,
        ).set_function(read(lambda: 1))
        Gauge(
            "autoscaler_groups_owned", "Groups this member evaluates", registry=registry
        ).set_function(read(lambda: len(self._active)))
        Gauge(
            "autoscaler_fleet_members", "Members of the fleet this member sees", registry=registry
        ).set_function(read(lambda: len(self._members)))


def share(groups: Iterable[str], members: list[str], member_id: str) -> list[str]:
    """The groups the consistent hash ring over ``members`` gives ``member_id``."""
    if not members:
        return []
    ring = _ring(tuple(sorted(members)))
    return [g for g in groups if member_id in ring.get_nodes(g.encode())]


@functools.lru_cache(maxsize=8)
def _ring(members: tuple[str, ...]) -> Any:
    from tooz.hashring import HashRing

    return HashRing(members)


def _names(groups: list[str]) -> str:
    shown = ",".join(groups[:NAMES_LOGGED])
    return shown if len(groups) <= NAMES_LOGGED else f"{shown},... ({len(groups)} in all)"
