"""Keys to sign with, and where temporary ones come from.

A :class:`Key` is what the UCloud client signs one request with: a key pair and, for a
temporary key, its ``SecurityToken`` and expiry. Long-lived keys (written in the
configuration, a key file, a profile, the environment) are a Key without token or expiry.
Temporary keys come from a :class:`InstanceRole` (the instance metadata service, see
:mod:`exporter.credentials.metadata`) and/or an :class:`AssumeRole` (STS ``AssumeRole``,
sent by :mod:`exporter.ucloud._sts`); both are part of an account's configuration, compared
for reload equality, and hold no secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from exporter.secret import Secret

__all__ = [
    "DEFAULT_DURATION_SECONDS",
    "DEFAULT_METADATA_URL",
    "DEFAULT_SESSION_NAME",
    "INTERNAL_BASE_URL",
    "MAX_DURATION_SECONDS",
    "MIN_DURATION_SECONDS",
    "AssumeRole",
    "InstanceRole",
    "Key",
    "SourceError",
    "parse_expiry",
]

#: Where the instance metadata service answers (ucloud-sdk-go ``external/sts_common.go``).
DEFAULT_METADATA_URL = "http://100.80.80.80"
#: The gateway an instance role's keys are used with by default (the SDK's STS configs).
INTERNAL_BASE_URL = "http://api.service.ucloud.cn"
DEFAULT_SESSION_NAME = "ucloud-image-exporter"
DEFAULT_DURATION_SECONDS = 3600
MIN_DURATION_SECONDS, MAX_DURATION_SECONDS = 900, 3600  # STS's range (sts_creds_v2.go)
_ROLE_RE = re.compile(r"^[A-Za-z0-9_.@+=,-]{1,128}$")


class SourceError(Exception):
    """A temporary key could not be fetched; the text is one line naming the source and why,
    never a key or token. ``reason`` is a short label value (timeout, transport, http_404,
    decode, refused, expired)."""

    def __init__(self, message: str, *, reason: str = "decode") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Key:
    """The key one request is signed with. ``repr`` shows only whether it is temporary."""

    public_key: str = field(repr=False)
    private_key: Secret = field(repr=False)
    token: Secret | None = field(default=None, repr=False)  # SecurityToken of a temporary key
    expires: float | None = None  # Unix seconds; None: a long-lived key
    issued: float | None = None  # Unix seconds when fetched (the lifetime's start)


@dataclass(frozen=True, slots=True)
class InstanceRole:
    """``instance_role``: keys from the instance metadata service (v2, else v1)."""

    role: str  # "" for the instance's default role (``instance_role: true``)
    metadata_url: str = DEFAULT_METADATA_URL
    duration_seconds: int = DEFAULT_DURATION_SECONDS  # v2's Duration-Seconds header
    session_name: str = DEFAULT_SESSION_NAME  # v2's Session-Name header

    def describe(self) -> str:
        """Name the source for ``--config.check`` and log lines (no secret in it)."""
        return f"instance_role {self.role or 'default'} (metadata {self.metadata_url})"


@dataclass(frozen=True, slots=True)
class AssumeRole:
    """``assume_role``: STS AssumeRole with the account's other keys, through its gateway."""

    role_urn: str
    session_name: str = DEFAULT_SESSION_NAME
    duration_seconds: int = DEFAULT_DURATION_SECONDS

    def describe(self, base: str) -> str:
        """Name the source, on top of ``base`` (the source of the keys that ask)."""
        return f"assume_role {self.role_urn} on {base}"


def valid_role_name(name: str) -> bool:
    """Return whether ``name`` can be a path segment of the metadata URL."""
    return bool(_ROLE_RE.match(name))


def parse_expiry(value: object, *, what: str) -> float:
    """Return an expiry as Unix seconds: ISO 8601 text (STS, metadata v2) or a Unix number
    (metadata v1). Raise SourceError naming ``what`` for anything else."""
    if isinstance(value, bool):
        raise SourceError(f"{what} is a boolean, not a time")
    if isinstance(value, int | float):
        if not 0 < value < 1e11:
            raise SourceError(f"{what} {value!r:.30} is not a Unix time")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) <= 11:
            return float(text)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise SourceError(f"{what} {text!r:.40} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # the SDK's formats are UTC unless they say
        return when.timestamp()
    raise SourceError(f"{what} is missing or not a time")
