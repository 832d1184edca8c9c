"""How the daemon's HTTP API is secured: TLS and credentials (``daemon.api``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from autoscaler.config.base import FrozenModel


class ApiConfig(FrozenModel):
    """TLS and authentication of the HTTP API (as Prometheus' web config does). Off
    loopback, TLS and a token or a user are required. Secrets stay in files or hashes."""

    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    token_file: str | None = None  # one bearer token per line
    # user -> hash printed by ``autoscaler hash-password`` (never a clear password)
    basic_auth_users: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _pairs(self) -> ApiConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self
