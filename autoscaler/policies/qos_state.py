"""What the qos policy carries from one decision to the next, and its JSON form.

``QosPolicy.decide`` returns the state as ``Decision.memory`` in its JSON form (what a
daemon persists), as a ``QosMemory``: a plain dict of ``QosState.to_json()`` that also
holds the state itself, so that the next decision in the same process (every step of a
simulation) takes it as it is instead of parsing the dict again. After a JSON round
trip, or once anyone changes the dict, the state is parsed from the dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["QosMemory", "QosState"]


@dataclass(frozen=True, slots=True)
class QosState:
    """What the policy carries from one decision to the next."""

    band: float  # the learned scale of the forecast band
    setpoint: float  # violation rate (fraction of samples) the fast loop aims at
    seen_until: datetime | None = None  # newest load sample already counted
    last_ready: int | None = None
    period_start: datetime | None = None
    period_violations: int = 0
    period_samples: int = 0
    long_violations: float = 0.0  # faded sums over past slow periods
    long_samples: float = 0.0
    recent: tuple[tuple[datetime, int], ...] = ()  # scale-in recommendations
    violations: int = 0  # totals since start, for reports and tests
    samples: int = 0
    latency_until: datetime | None = None  # newest measured-latency sample counted
    measured: int = 0  # samples judged on measured latency (the rest were inferred)
    panic_until: datetime | None = None  # no scale-in before this (a burst was seen)

    def evolve(self, **changes: Any) -> QosState:
        """``dataclasses.replace``: this state with ``changes``; raises ``TypeError`` on
        a name that is no field. One positional call, without replace's generic field
        walk or a dict of every field (once per decision, most fields changed)."""
        if not changes.keys() <= _FIELD_NAMES:
            raise TypeError(f"not fields of QosState: {sorted(changes.keys() - _FIELD_NAMES)}")
        get = changes.get
        return QosState(
            get("band", self.band),
            get("setpoint", self.setpoint),
            get("seen_until", self.seen_until),
            get("last_ready", self.last_ready),
            get("period_start", self.period_start),
            get("period_violations", self.period_violations),
            get("period_samples", self.period_samples),
            get("long_violations", self.long_violations),
            get("long_samples", self.long_samples),
            get("recent", self.recent),
            get("violations", self.violations),
            get("samples", self.samples),
            get("latency_until", self.latency_until),
            get("measured", self.measured),
            get("panic_until", self.panic_until),
        )

    def values(self) -> list[Any]:
        """The field values in order: ``QosState(*state.values()) == state``."""
        return [getattr(self, name) for name in _FIELD_ORDER]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as epoch seconds), so a daemon can persist it."""
        return {
            "band": self.band,
            "setpoint": self.setpoint,
            "seen_until": _epoch(self.seen_until),
            "last_ready": self.last_ready,
            "period_start": _epoch(self.period_start),
            "period_violations": self.period_violations,
            "period_samples": self.period_samples,
            "long_violations": self.long_violations,
            "long_samples": self.long_samples,
            "recent": [[t.timestamp(), n] for t, n in self.recent],
            "violations": self.violations,
            "samples": self.samples,
            "latency_until": _epoch(self.latency_until),
            "measured": self.measured,
            "panic_until": _epoch(self.panic_until),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> QosState:
        """The inverse of ``to_json``. Raises ``KeyError``, ``TypeError`` or ``ValueError``
        on a malformed dict."""
        return cls(
            band=float(d["band"]),
            setpoint=float(d["setpoint"]),
            seen_until=_time(d["seen_until"]),
            last_ready=None if d["last_ready"] is None else int(d["last_ready"]),
            period_start=_time(d["period_start"]),
            period_violations=int(d["period_violations"]),
            period_samples=int(d["period_samples"]),
            long_violations=float(d["long_violations"]),
            long_samples=float(d["long_samples"]),
            recent=tuple((_time(t), int(n)) for t, n in d["recent"]),
            violations=int(d["violations"]),
            samples=int(d["samples"]),
            # absent in state written before measured latency existed
            latency_until=_time(d.get("latency_until")),
            measured=int(d.get("measured", 0)),
            panic_until=_time(d.get("panic_until")),
        )


def _epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def _time(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(float(x), UTC)


_FIELD_ORDER = tuple(QosState.__dataclass_fields__)
_FIELD_NAMES = frozenset(_FIELD_ORDER)


class QosMemory(dict):
    """``state.to_json()``, holding ``state`` too while the dict is unchanged."""

    __slots__ = ("state",)

    def __init__(self, state: QosState) -> None:
        super().__init__(state.to_json())
        self.state: QosState | None = state

    def parsed(self) -> QosState | None:
        """The state this dict was made from; None once the dict was changed."""
        return self.state

    def _changed(self) -> None:
        self.state = None

    def __setitem__(self, key: str, value: Any) -> None:
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._changed()
        super().__delitem__(key)

    def __ior__(self, other: Any) -> QosMemory:  # type: ignore[override,misc]
        self._changed()
        return super().__ior__(other)  # type: ignore[return-value]

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._changed()
        super().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._changed()
        return super().setdefault(key, default)

    def pop(self, *args: Any) -> Any:  # type: ignore[override]
        self._changed()
        return super().pop(*args)

    def popitem(self) -> tuple[str, Any]:
        self._changed()
        return super().popitem()

    def clear(self) -> None:
        self._changed()
        super().clear()

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))  # a copy elsewhere is a plain dict: parsed again
