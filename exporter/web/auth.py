"""HTTP basic authentication against bcrypt hashes.

Every result, success or failure, is remembered under an HMAC of (user, hash, password) with
a per-process random key, as exporter-toolkit does: a repeated attempt costs no bcrypt and no
plaintext password is ever stored. Successes and failures live in separate bounded caches, so
a flood of wrong passwords can never evict a valid user. An unknown user is checked against a
dummy hash of bcrypt's default cost 10 (exporter-toolkit's choice), whatever the users' costs.
There is no lock around bcrypt: checks run in parallel, and the server bounds how many.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

Checker = Callable[[bytes, bytes], bool]

REALM = "ucloud-image-exporter"
BCRYPT_RE = re.compile(r"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; longer passwords are refused, not truncated
DUMMY_COST = 10  # bcrypt's default, as exporter-toolkit uses for unknown users
WARN_COST = 12  # above this a single check takes long enough to be worth a warning
_GOOD_LIMIT = 1024  # valid (user, password) pairs remembered
_BAD_LIMIT = 8192  # failed attempts remembered, least recently seen dropped first


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

    hashed: bytes = bcrypt.hashpw(secrets.token_urlsafe(16).encode(), bcrypt.gensalt(rounds=cost))
    return hashed


def cost_warnings(users: Mapping[str, str]) -> list[str]:
    """Return warnings about users' bcrypt costs: mixed costs, or costs above 12."""
    costs = {name: bcrypt_cost(h) or 0 for name, h in users.items()}
    out = [
        f"basic_auth_users.{name}: bcrypt cost {cost} is above {WARN_COST}: every uncached "
        f"check takes {2 ** (cost - WARN_COST)}x a cost-{WARN_COST} check of CPU"
        for name, cost in costs.items()
        if cost > WARN_COST
    ]
    if len(set(costs.values())) > 1:
        listed = ", ".join(f"{n}={c}" for n, c in sorted(costs.items()))
        out.append(
            f"basic_auth_users: mixed bcrypt costs ({listed}): the answer time tells "
            "users apart; hash every password at one cost"
        )
    return out


class BasicAuth:
    """Check basic-auth credentials; ``check`` (bcrypt by default) is injectable."""

    def __init__(
        self, users: Mapping[str, bytes], *, dummy: bytes, check: Checker = bcrypt_check
    ) -> None:
        self._users = dict(users)
        self._dummy = dummy
        self._check = check
        self._key = secrets.token_bytes(32)
        self._good: set[bytes] = set()
        self._bad: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()  # guards the caches only, never held during bcrypt

    @classmethod
    def for_users(cls, users: Mapping[str, str], *, check: Checker = bcrypt_check) -> BasicAuth:
        """Return a BasicAuth over validated bcrypt hashes, its dummy at cost 10."""
        return cls(
            {u: h.encode() for u, h in users.items()}, dummy=dummy_hash(DUMMY_COST), check=check
        )

    def _cache_key(self, user: str, password: bytes) -> bytes:
        name = user.encode()
        hashed = self._users.get(user, self._dummy)
        return hmac.new(
            self._key,
            b"".join(len(part).to_bytes(4, "big") + part for part in (name, hashed, password)),
            hashlib.sha256,
        ).digest()

    def cached(self, user: str, password: bytes) -> bool | None:
        """Return the remembered result for these credentials, or None (costs no bcrypt)."""
        key = self._cache_key(user, password)
        with self._lock:
            if key in self._good:
                return True
            if key in self._bad:
                self._bad.move_to_end(key)
                return False
        return None

    def verify(self, user: str, password: bytes) -> bool:
        """Return whether ``user`` exists and ``password`` is theirs (bcrypt unless cached)."""
        remembered = self.cached(user, password)
        if remembered is not None:
            return remembered
        hashed = self._users.get(user)
        ok = self._check(password, hashed if hashed is not None else self._dummy)
        ok = ok and hashed is not None
        key = self._cache_key(user, password)
        with self._lock:
            if ok:
                if len(self._good) >= _GOOD_LIMIT:
                    self._good.clear()
                self._good.add(key)
            else:
                self._bad[key] = None
                if len(self._bad) > _BAD_LIMIT:
                    self._bad.popitem(last=False)
        return ok

    def authorized(self, header: str | None) -> bool:
        """Return whether an ``Authorization`` header value carries valid credentials."""
        credentials = parse_basic(header)
        return credentials is not None and self.verify(*credentials)


def parse_basic(header: str | None) -> tuple[str, bytes] | None:
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


UNAUTHORIZED_BODY = b"Unauthorized\n"  # with these headers, the answer to bad credentials
UNAUTHORIZED_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(UNAUTHORIZED_BODY))),
    ("WWW-Authenticate", f'Basic realm="{REALM}"'),
]
