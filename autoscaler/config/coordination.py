"""``coordination:``: several daemons sharing the groups through tooz and one SQL database.

No ``backend_url`` (the default) means one daemon runs every group, as before. With one,
``state_url`` must name the shared database (PostgreSQL) that carries each group's
state to its next owner.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from autoscaler.config.base import Duration, FrozenModel

# The tooz drivers that support group membership, which the hash ring needs.
BACKEND_SCHEMES = ("redis", "etcd3+http", "etcd3+https", "zookeeper")
STATE_SCHEMES = ("postgresql", "postgresql+psycopg")


class CoordinationConfig(FrozenModel):
    """Membership backend, shared state database and the timing of both."""

    backend_url: str | None = Field(None, max_length=2048)
    state_url: str | None = Field(None, max_length=2048)
    member_id: str | None = Field(None, min_length=1, max_length=128)  # default: host:pid:rand
    group: str = Field("autoscaler", min_length=1, max_length=64)
    heartbeat: Duration = timedelta(seconds=1)
    # A member silent this long is dropped from the ring and its groups move.
    membership_timeout: Duration = timedelta(seconds=5)

    @field_validator("backend_url")
    @classmethod
    def _backend(cls, url: str | None) -> str | None:
        if url is not None and url.split("://", 1)[0] not in BACKEND_SCHEMES:
            raise ValueError(
                f"backend_url must start with one of {', '.join(s + '://' for s in BACKEND_SCHEMES)}"
            )
        return url

    @field_validator("state_url")
    @classmethod
    def _state(cls, url: str | None) -> str | None:
        if url is not None and url.split("://", 1)[0] not in STATE_SCHEMES:
            raise ValueError(
                f"state_url must start with one of {', '.join(s + '://' for s in STATE_SCHEMES)}"
            )
        return url

    @model_validator(mode="after")
    def _together(self) -> CoordinationConfig:
        if self.backend_url is not None and self.state_url is None:
            raise ValueError(
                "state_url is required with backend_url: the next owner of a group needs its state"
            )
        if not timedelta(milliseconds=100) <= self.heartbeat <= timedelta(minutes=1):
            raise ValueError("heartbeat must be between 100ms and 1m")
        if self.membership_timeout > timedelta(minutes=10):
            raise ValueError("membership_timeout must be at most 10m")
        if self.membership_timeout < 2 * self.heartbeat:
            raise ValueError("membership_timeout must be at least two heartbeats")
        return self

    @property
    def enabled(self) -> bool:
        return self.backend_url is not None
