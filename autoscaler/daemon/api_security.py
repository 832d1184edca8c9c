"""Who may use the HTTP API, and over what: TLS, bearer tokens, basic-auth users.

Modelled on Prometheus' web config: TLS from a certificate and key file, bearer tokens
read from a file (one per line), and users whose passwords are stored only as hashes
(``scrypt$...``, printed by ``autoscaler hash-password``). On a loopback address the
API may run without any of it; on any other address it refuses to start unless it has
TLS *and* at least one credential (``bind_problem``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from autoscaler.adapters.secrets import SecretError, read_secret
from autoscaler.config import ApiConfig

# scrypt cost: about 50 ms and 16 MiB per check on one core; a token check is free.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class ApiSecurityError(Exception):
    """The API's TLS or credentials cannot be set up; one line for the user."""


@dataclass(frozen=True)
class ApiSecurity:
    """The credentials the API accepts; none at all means no authentication."""

    tokens: frozenset[str] = frozenset()
    users: Mapping[str, str] = field(default_factory=dict)  # user -> scrypt hash
    tls: ssl.SSLContext | None = None

    @property
    def auth_required(self) -> bool:
        return bool(self.tokens or self.users)

    def allows(self, authorization: str | None) -> bool:
        """True when the ``Authorization`` header carries an accepted credential (or
        when none is configured)."""
        if not self.auth_required:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            # compare_digest against every token: the time taken says nothing useful
            return any(hmac.compare_digest(value, t) for t in self.tokens)
        if scheme.lower() == "basic" and value:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            stored = self.users.get(user)
            return stored is not None and verify_password(password, stored)
        return False


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) for ``password``."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, want = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        got = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(want), maxmem=2**26
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def load_security(cfg: ApiConfig, base: Path) -> ApiSecurity:
    """Read the files ``cfg`` names (relative to ``base``). Raises ``ApiSecurityError``."""
    tokens: frozenset[str] = frozenset()
    if cfg.token_file is not None:
        path = _resolve(cfg.token_file, base)
        try:
            text = read_secret(file=path, what="daemon.api.token_file")
        except SecretError as exc:
            raise ApiSecurityError(str(exc)) from None
        tokens = frozenset(t.strip() for t in text.splitlines() if t.strip())
    for user, stored in cfg.basic_auth_users.items():
        if not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise ApiSecurityError(
                f"daemon.api.basic_auth_users.{user}: not a hash from `autoscaler hash-password`"
            )
    tls = None
    if cfg.tls_cert_file is not None and cfg.tls_key_file is not None:
        cert, key = _resolve(cfg.tls_cert_file, base), _resolve(cfg.tls_key_file, base)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            tls.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise ApiSecurityError(
                f"daemon.api: cannot load TLS key pair {cert}, {key}: {exc}"
            ) from None
    return ApiSecurity(tokens, dict(cfg.basic_auth_users), tls)


def _resolve(name: str, base: Path) -> Path:
    p = Path(name)
    return p if p.is_absolute() else base / p


def is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def bind_problem(bind: str, security: ApiSecurity) -> str | None:
    """Why serving on ``bind`` with ``security`` is refused, or None when it is fine."""
    if is_loopback(bind):
        return None
    missing = []
    if security.tls is None:
        missing.append("TLS (daemon.api.tls_cert_file and tls_key_file)")
    if not security.auth_required:
        missing.append("a credential (daemon.api.token_file or basic_auth_users)")
    if not missing:
        return None
    return (
        f"refusing to serve the API on {bind}, which is not a loopback address, "
        f"without {' and '.join(missing)}"
    )
