"""The ``instance_role`` and ``assume_role`` keys of an account, read with key paths."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from exporter.credentials.keys import (
    DEFAULT_DURATION_SECONDS,
    DEFAULT_SESSION_NAME,
    MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    AssumeRole,
    InstanceRole,
    valid_role_name,
)
from exporter.validation import Checker, kind_of

__all__ = ["ROLE_KEYS", "parse_assume_role", "parse_instance_role"]

ROLE_KEYS = ("instance_role", "assume_role")
_ASSUME_KEYS = ("role_urn", "session_name", "duration_seconds")
_SESSION_RE = re.compile(r"^[A-Za-z0-9_.@=,-]{2,64}$")


def parse_instance_role(
    check: Checker, a: Mapping[str, Any], path: str, *, metadata_url: str
) -> InstanceRole | None:
    """Read ``instance_role: NAME`` (or ``true``: the default role); None when unset/false."""
    value = a.get("instance_role")
    if value is None or value is False:
        return None
    if value is True:
        return InstanceRole("", metadata_url)
    if not isinstance(value, str) or not valid_role_name(value.strip()):
        shown = repr(value) if isinstance(value, str) else kind_of(value)
        check.fail(
            f"{path}.instance_role",
            f"must be a role name (1-128 of A-Z a-z 0-9 _ . @ + = , -) or true, got {shown}",
        )
        return None
    return InstanceRole(value.strip(), metadata_url)


def parse_assume_role(check: Checker, a: Mapping[str, Any], path: str) -> AssumeRole | None:
    """Read ``assume_role: {role_urn, session_name, duration_seconds}``; None when unset."""
    raw = a.get("assume_role")
    if raw is None:
        return None
    where = f"{path}.assume_role"
    if not isinstance(raw, Mapping):
        check.fail(where, f"must be a mapping with role_urn, got {kind_of(raw)}")
        return None
    s = check.mapping(raw, where, _ASSUME_KEYS)
    urn = s.get("role_urn")
    ok = True
    if not isinstance(urn, str) or not urn.strip() or any(c.isspace() for c in urn.strip()):
        shown = repr(urn) if isinstance(urn, str) else kind_of(urn)
        check.fail(
            f"{where}.role_urn", f"must be a role URN like ucs:iam::ID:role/NAME, got {shown}"
        )
        ok = False
    session = s.get("session_name", DEFAULT_SESSION_NAME)
    if not isinstance(session, str) or not _SESSION_RE.match(session):
        shown = repr(session) if isinstance(session, str) else kind_of(session)
        check.fail(f"{where}.session_name", f"must be 2-64 of A-Z a-z 0-9 _ . @ = , -, got {shown}")
        ok = False
    duration = s.get("duration_seconds", DEFAULT_DURATION_SECONDS)
    if (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not MIN_DURATION_SECONDS <= duration <= MAX_DURATION_SECONDS
    ):
        check.fail(
            f"{where}.duration_seconds",
            f"must be {MIN_DURATION_SECONDS}-{MAX_DURATION_SECONDS}, got {duration!r}",
        )
        ok = False
    if not ok or not isinstance(urn, str) or not isinstance(session, str):
        return None
    return AssumeRole(urn.strip(), session, int(duration))
