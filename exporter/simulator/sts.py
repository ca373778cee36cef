"""Temporary keys: STS ``AssumeRole``, the instance metadata service, ``SecurityToken`` checks.

What the simulated gateway needs for temporary credentials (ucloud-sdk-go ``services/sts``,
``external/sts_creds.go`` v1, ``external/sts_creds_v2.go`` v2):

- ``AssumeRole`` (``RoleUrn``, ``RoleSessionName``, ``DurationSeconds`` 900-3600), signed by
  any account, issues a key pair and token of the role's account, valid for
  ``min(DurationSeconds, lifetime)`` seconds, as ``Credentials{AccessKeyId, AccessKeySecret,
  SecurityToken, Expiration (ISO 8601, UTC)}``;
- ``GET /meta-data/v2/iam/security-credentials[/ROLE]`` (headers ``Duration-Seconds``,
  ``Session-Name``) answers ``Data{AccessKeyId, AccessKeySecret, SecurityToken, Expiration
  (ISO 8601), ProjectID, CharacterName}``; HTTP 404 when the instance is ``v1_only``;
  ``GET /meta-data/v1/uam/security-credentials[/ROLE]`` answers ``Data{PublicKey, PrivateKey,
  SecurityToken, Expiration (Unix), ProjectID, CharacterName}``. A role the instance does not
  have is refused with a RetCode and Message;
- a request signed with a temporary key must carry its ``SecurityToken`` (covered by the
  signature). The real gateway's codes for a missing, wrong or expired token are not
  documented; the simulator answers RetCode 171 ("security token invalid") for a missing or
  wrong token and 174 ("security token expired") for an expired key: codes of the
  gateway's authentication range, which the exporter treats as authentication failures.

A verified request with a temporary key is handed on as the owner's request (its key pair,
re-signed), so every other check, fault and count of the gateway applies unchanged.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from exporter.simulator.model import Fleet
from exporter.simulator.paging import Response, error
from exporter.simulator.signing import sign, verify

__all__ = ["METADATA_V1", "METADATA_V2", "STS", "STS_ACTIONS"]

STS_ACTIONS = ("AssumeRole",)
METADATA_V2 = "/meta-data/v2/iam/security-credentials"
METADATA_V1 = "/meta-data/v1/uam/security-credentials"
TOKEN_INVALID = (171, "security token invalid")
TOKEN_EXPIRED = (174, "security token expired")
ROLE_REFUSED_RETCODE = 230


@dataclass(frozen=True)
class Issued:
    """One temporary key pair, its token, its owner (a fleet public key) and its expiry."""

    owner: str
    private_key: str = field(repr=False)
    token: str = field(repr=False)
    expires: float


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


class STS:
    """Issue and check temporary keys for ``fleet``'s accounts (thread-safe).

    ``roles`` maps an instance role name to the public key of the account it acts for ("" is
    the instance's default role); ``role_urns`` maps a RoleUrn AssumeRole accepts to its
    account. ``lifetime`` caps every key's life in seconds (short in the demo and tests).
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        roles: Mapping[str, str] | None = None,
        role_urns: Mapping[str, str] | None = None,
        lifetime: float = 3600.0,
        v1_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Serve no role until given some."""
        self.fleet = fleet
        self.roles = dict(roles or {})
        self.role_urns = dict(role_urns or {})
        self.lifetime = lifetime
        self.v1_only = v1_only
        self.refuse_metadata = False  # answer every metadata request with a refusal
        self._clock = clock
        self._lock = threading.Lock()
        self._issued: dict[str, Issued] = {}
        self.calls: Counter[str] = Counter()  # "v1", "v2", "AssumeRole"

    def issue(self, owner: str, duration: float) -> tuple[str, Issued]:
        """Return a new temporary public key and what it is (expired ones are forgotten)."""
        now = self._clock()
        issued = Issued(
            owner,
            secrets.token_hex(20),
            secrets.token_urlsafe(32),
            int(now + min(duration, self.lifetime)),
        )
        public = "TMP-" + secrets.token_hex(12)
        with self._lock:
            for key in [k for k, v in self._issued.items() if v.expires < now - 60]:
                del self._issued[key]
            self._issued[public] = issued
        return public, issued

    def issued_material(self) -> list[str]:
        """Every temporary public key, secret and token issued and not yet forgotten (for
        tests that look for leaks)."""
        with self._lock:
            return [x for k, v in self._issued.items() for x in (k, v.private_key, v.token)]

    def translate(self, params: dict[str, str]) -> dict[str, str] | Response:
        """Return ``params`` as the owner's request when they are signed with a temporary key
        (unchanged for any other key); a gateway error when its token does not hold."""
        public = params.get("PublicKey", "")
        with self._lock:
            issued = self._issued.get(public)
        if issued is None:
            return params
        action = params.get("Action", "")
        if not verify(params, issued.private_key):
            return error(action, 171, "signature error")
        if params.get("SecurityToken", "") != issued.token:
            return error(action, *TOKEN_INVALID)
        if self._clock() >= issued.expires:
            return error(action, *TOKEN_EXPIRED)
        owner = self.fleet.account(issued.owner)
        if owner is None:
            return error(action, 172, "user not exist")
        mine = {k: v for k, v in params.items() if k not in ("SecurityToken", "Signature")}
        mine["PublicKey"] = owner.public_key
        mine["Signature"] = sign(mine, owner.private_key)
        return mine

    def assume_role(self, params: Mapping[str, str]) -> Response:
        """Answer an authenticated AssumeRole."""
        action = "AssumeRole"
        with self._lock:
            self.calls[action] += 1
        for name in ("RoleUrn", "RoleSessionName"):
            if not params.get(name):
                return error(action, 230, f"Missing params [{name}]")
        owner = self.role_urns.get(params["RoleUrn"])
        if owner is None:
            return error(action, 230, "Params [RoleUrn] not valid")
        duration = _duration(params.get("DurationSeconds") or "3600")
        if duration is None:
            return error(action, 230, "Params [DurationSeconds] not valid")
        public, issued = self.issue(owner, duration)
        return {
            "RetCode": 0,
            "Action": "AssumeRoleResponse",
            "Credentials": {
                "AccessKeyId": public,
                "AccessKeySecret": issued.private_key,
                "SecurityToken": issued.token,
                "Expiration": _iso(issued.expires),
            },
        }

    def metadata(self, path: str, headers: Mapping[str, str]) -> tuple[int, Response | None]:
        """Answer a metadata request: (HTTP status, JSON body or None for a plain 404)."""
        found = [
            (base, version)
            for base, version in ((METADATA_V2, "v2"), (METADATA_V1, "v1"))
            if path == base or path.startswith(base + "/")
        ]
        if not found:
            return 404, None
        base, version = found[0]
        with self._lock:
            self.calls[version] += 1
        if version == "v2" and self.v1_only:
            return 404, None
        role = path[len(base) + 1 :]
        owner = None if self.refuse_metadata else self.roles.get(role)
        if owner is None or "/" in role:
            message = f"role [{role or 'default'}] is not attached to this instance"
            return 200, {"RetCode": ROLE_REFUSED_RETCODE, "Message": message}
        duration = 3600.0
        if version == "v2":
            asked = _duration(headers.get("Duration-Seconds") or "3600")
            if asked is None:
                return 200, {"RetCode": 230, "Message": "Params [Duration-Seconds] not valid"}
            duration = asked
        public, issued = self.issue(owner, duration)
        account = self.fleet.account(owner)
        project = sorted(account.projects)[0] if account is not None and account.projects else ""
        data: dict[str, object] = {
            "SecurityToken": issued.token,
            "ProjectID": project,
            "CharacterName": f"ucs:iam::0:role/{role or 'default'}",
            "UHostID": "uhost-simulated",
        }
        if version == "v2":
            data |= {
                "AccessKeyId": public,
                "AccessKeySecret": issued.private_key,
                "Expiration": _iso(issued.expires),
            }
        else:
            data |= {"PublicKey": public, "PrivateKey": issued.private_key}
            data["Expiration"] = int(issued.expires)
        return 200, {"RetCode": 0, "Message": "", "Data": data}


def _duration(text: str) -> float | None:
    """DurationSeconds / Duration-Seconds: a whole number within 900-3600, else None."""
    if not text.isdigit() or not 900 <= int(text) <= 3600:
        return None
    return float(text)
