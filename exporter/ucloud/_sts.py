"""STS ``AssumeRole``: temporary keys for a role, asked with the account's other keys.

ucloud-sdk-go ``services/sts`` (and ucloud-sdk-python3 ``STSClient.assume_role``): the request
takes ``RoleUrn``, ``RoleSessionName``, ``DurationSeconds`` (and ``Policy``, never sent here);
the answer holds ``Credentials{AccessKeyId, AccessKeySecret, SecurityToken, Expiration}``,
``Expiration`` a UTC time (ISO 8601).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from exporter.config import Account
from exporter.credentials import AssumeRole, Key, SourceError, parse_expiry
from exporter.secret import Secret
from exporter.ucloud._auth import ParamValue
from exporter.ucloud._client import Observer, UCloudClient
from exporter.ucloud._errors import DecodeError

ACTION = "AssumeRole"


def request(role: AssumeRole) -> dict[str, ParamValue]:
    """Return the AssumeRole parameters for ``role``."""
    return {
        "Action": ACTION,
        "RoleUrn": role.role_urn,
        "RoleSessionName": role.session_name,
        "DurationSeconds": role.duration_seconds,
    }


def parse_credentials(body: Mapping[str, Any], *, now: float | None = None) -> Key:
    """Return the temporary key of an AssumeRole answer; DecodeError when it has none (the
    text names the missing field, never a value), or when it expired already."""
    now = time.time() if now is None else now
    creds = body.get("Credentials")
    if not isinstance(creds, dict):
        raise DecodeError("AssumeRole answered no Credentials object")
    values = {}
    for name in ("AccessKeyId", "AccessKeySecret", "SecurityToken"):
        value = creds.get(name)
        if not isinstance(value, str) or not value.strip():
            raise DecodeError(f"AssumeRole answered no Credentials.{name}")
        values[name] = value.strip()
    try:
        expires = parse_expiry(creds.get("Expiration"), what="Credentials.Expiration")
    except SourceError as exc:
        raise DecodeError(f"AssumeRole answered {exc}") from None
    if expires <= now:
        raise DecodeError("AssumeRole answered a key that expired already")
    return Key(
        values["AccessKeyId"],
        Secret(values["AccessKeySecret"]),
        Secret(values["SecurityToken"]),
        expires=expires,
        issued=now,
    )


async def assume_role(
    client: UCloudClient,
    account: Account,
    role: AssumeRole,
    *,
    key: Key,
    deadline: float,
    observe: Observer,
) -> Key:
    """Ask the account's gateway for ``role``'s temporary key, signing with ``key``."""
    return await client.call(
        account,
        request(role),
        deadline=deadline,
        observe=observe,
        parse=parse_credentials,
        key=key,
    )
