"""Keeping credentials out of logs, error messages, the audit log and the HTTP API.

Two kinds of secret are removed: the values of credential-like environment
variables (``OS_PASSWORD``, ``*_TOKEN``, ...) and any extra literal secrets given,
wherever they appear in a string; and credential-shaped text (URL user info,
``password=...``, ``Authorization: Bearer ...``, ``X-Auth-Token: ...``). Mappings are
walked, and a value under a credential-like key is replaced whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|credential|auth", re.I)
_PATTERNS = (
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@", re.I), rf"\1{MASK}@"),
    # key=value or key: value for credential-like keys (query strings, headers, YAML)
    (
        re.compile(
            r"\b([\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key)[\w-]*)"
            r"(\s*[=:]\s*)(?:bearer\s+)?(['\"]?)([^\s'\"&,;]+)\3",
            re.I,
        ),
        lambda m: _mask_key_value(m),
    ),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.I), rf"\1 {MASK}"),
)
# Substrings without which the pattern of the same position cannot match.
_TRIGGERS = (("://",), ("pass", "secret", "token", "api"), ("bearer", "basic"))
# Shorter values are too likely to match ordinary words; they are still masked by key.
_MIN_LITERAL = 4


def secrets_from_env(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables whose names look like credentials."""
    env = os.environ if environ is None else environ
    return {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_LITERAL}


class Redactor:
    """Removes credentials from strings and JSON-like structures. Never raises."""

    def __init__(self, secrets: Iterable[str] = (), *, environ: Mapping[str, str] | None = None):
        literals = set(secrets) | secrets_from_env(environ)
        # Longest first, so that a secret containing another is masked whole.
        self._literals = sorted((s for s in literals if len(s) >= _MIN_LITERAL), key=len)[::-1]

    def text(self, s: str) -> str:
        for lit in self._literals:
            if lit in s:
                s = s.replace(lit, MASK)
        # Cheap triggers first: most strings (reasons, names, times) match no pattern,
        # and this runs on every field of every audit record.
        low = s.lower()
        for (pattern, repl), triggers in zip(_PATTERNS, _TRIGGERS, strict=True):
            if any(t in low for t in triggers):
                s = pattern.sub(repl, s)
        return s

    def value(self, v: Any) -> Any:
        """A copy of ``v`` with every string redacted and credential-like keys masked."""
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, Mapping):
            return {
                k: (MASK if isinstance(k, str) and _is_secret_key(k) and x else self.value(x))
                for k, x in v.items()
            }
        if isinstance(v, list | tuple):
            return [self.value(x) for x in v]
        return v


def _mask_key_value(m: re.Match[str]) -> str:
    """``key=value`` always loses its value. ``key: value`` is also how our own messages
    name a field ("password: environment variable X is not set"), so there the value is
    masked only when it looks like one: quoted, not a plain word, or the last thing in
    its clause (a header or a YAML line), never a word that prose continues after."""
    key, sep, quote, value = m.group(1), m.group(2), m.group(3), m.group(4)
    rest = m.string[m.end() :]
    if (
        "=" in sep
        or quote
        or not value.isalpha()
        or not rest.strip()
        or rest.lstrip(" \t")[:1] in ("\n", ",", ";", "&")
    ):
        return f"{key}{sep}{MASK}"
    return m.group(0)


def _is_secret_key(key: str) -> bool:
    # "auth" alone is too broad for keys ("auth_url" is not secret); match the rest.
    return bool(re.search(r"pass(word|wd)?|secret|token|api[_-]?key", key, re.I))
