"""HTTP basic authentication against bcrypt hashes, as WSGI middleware.

A successful (user, password) check is remembered as an HMAC under a per-process random key,
so a scrape does not pay the bcrypt cost every time and no plaintext password is ever stored.
An unknown user is checked against a dummy hash of the same cost, so the answer's timing does
not tell which users exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Checker = Callable[[bytes, bytes], bool]

REALM = "ucloud-image-exporter"
BCRYPT_RE = re.compile(r"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; longer passwords are refused, not truncated
_CACHE_LIMIT = 1024


def bcrypt_cost(hashed: str) -> int | None:
    """Return the cost of a well-formed bcrypt hash, else None."""
    match = BCRYPT_RE.match(hashed)
    if match is None or not 4 <= int(match.group(1)) <= 31:
        return None
    return int(match.group(1))


def bcrypt_check(password: bytes, hashed: bytes) -> bool:
    """Return whether ``password`` matches the bcrypt ``hashed``."""
    import bcrypt

    if len(password) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bool(bcrypt.checkpw(password, hashed))
    except ValueError:
        return False


def dummy_hash(cost: int) -> bytes:
    """Return a bcrypt hash of a random password at ``cost``, for unknown users."""
    import bcrypt

    hashed: bytes = bcrypt.hashpw(secrets.token_urlsafe(16).encode(),
                                  bcrypt.gensalt(rounds=cost))
    return hashed


class BasicAuth:
    """Check basic-auth credentials; ``check`` (bcrypt by default) is injectable."""

    def __init__(self, users: Mapping[str, bytes], *, dummy: bytes,
                 check: Checker = bcrypt_check) -> None:
        self._users = dict(users)
        self._dummy = dummy
        self._check = check
        self._key = secrets.token_bytes(32)
        self._ok: set[bytes] = set()
        self._lock = threading.Lock()  # one bcrypt at a time: it is CPU-bound

    @classmethod
    def for_users(cls, users: Mapping[str, str], *, check: Checker = bcrypt_check) -> BasicAuth:
        """Return a BasicAuth over validated bcrypt hashes, its dummy at their highest cost."""
        cost = max((bcrypt_cost(h) or 10) for h in users.values()) if users else 10
        return cls({u: h.encode() for u, h in users.items()}, dummy=dummy_hash(cost),
                   check=check)

    def verify(self, user: str, password: bytes) -> bool:
        """Return whether ``user`` exists and ``password`` is theirs."""
        hashed = self._users.get(user)
        name = user.encode()
        key = hmac.new(self._key, len(name).to_bytes(4, "big") + name + password,
                       hashlib.sha256).digest()
        if hashed is not None and key in self._ok:
            return True
        with self._lock:
            ok = self._check(password, hashed if hashed is not None else self._dummy)
        if hashed is None or not ok:
            return False
        if len(self._ok) >= _CACHE_LIMIT:
            self._ok.clear()
        self._ok.add(key)
        return True

    def authorized(self, header: str | None) -> bool:
        """Return whether an ``Authorization`` header value carries valid credentials."""
        credentials = _parse_basic(header)
        return credentials is not None and self.verify(*credentials)

    def wrap(self, app: WSGIApp) -> WSGIApp:
        """Return ``app`` behind basic authentication (every path)."""
        def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            if self.authorized(environ.get("HTTP_AUTHORIZATION")):
                return app(environ, start_response)
            log.debug("unauthorized request", extra={"path": environ.get("PATH_INFO", "")})
            return _unauthorized(start_response)
        return guarded


def _parse_basic(header: str | None) -> tuple[str, bytes] | None:
    """Return (user, password) from ``Basic <base64>``, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip().encode("latin-1"), validate=True)
        user, sep, password = raw.partition(b":")
        return (user.decode("utf-8"), password) if sep else None
    except (binascii.Error, UnicodeError):
        return None


def _unauthorized(start_response: StartResponse) -> list[bytes]:
    body = b"Unauthorized\n"
    start_response("401 Unauthorized", [
        ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
        ("WWW-Authenticate", f'Basic realm="{REALM}"')])
    return [body]
