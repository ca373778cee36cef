"""Temporary keys from the instance metadata service, as ucloud-sdk-go fetches them.

``external/sts_creds_v2.go``: ``GET /meta-data/v2/iam/security-credentials[/ROLE]`` with the
headers ``Duration-Seconds`` (900-3600), ``Session-Name`` (and ``Role-Policy``, which we never
send) answers ``{RetCode, Message, Data{AccessKeyId, AccessKeySecret, SecurityToken,
Expiration (ISO 8601), ProjectID, ...}}``. ``external/sts_creds.go``: ``GET
/meta-data/v1/uam/security-credentials[/ROLE]`` answers ``{RetCode, Message, Data{PublicKey,
PrivateKey, SecurityToken, Expiration (Unix seconds), ProjectID, CharacterName, ...}}``. Where
v2 answers HTTP 404 (an older instance), v1 is asked.

Each answer is read up to ``MAX_METADATA_BYTES`` within the timeout; anything else (a stall,
a huge or junk body, a refusal, an expiry in the past) is a :class:`SourceError` of one line
that names the source and never holds a key or token.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx

from exporter.credentials.keys import InstanceRole, Key, SourceError, parse_expiry
from exporter.secret import Secret

__all__ = ["MAX_METADATA_BYTES", "V1_PATH", "V2_PATH", "fetch_instance_key"]

V2_PATH = "/meta-data/v2/iam/security-credentials"
V1_PATH = "/meta-data/v1/uam/security-credentials"
MAX_METADATA_BYTES = 64 * 1024  # an answer is a few hundred bytes
_MAX_MESSAGE = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# (public key, private key) field names of each version's Data
_FIELDS = {V2_PATH: ("AccessKeyId", "AccessKeySecret"), V1_PATH: ("PublicKey", "PrivateKey")}


async def fetch_instance_key(
    http: httpx.AsyncClient, source: InstanceRole, *, timeout: float, now: float | None = None
) -> Key:
    """Fetch the instance role's temporary key (v2, else v1 where v2 answers 404)."""
    where = source.describe()
    headers = {
        "Duration-Seconds": str(source.duration_seconds),
        "Session-Name": source.session_name,
    }
    try:
        async with asyncio.timeout(timeout):
            status, raw = await _get(http, _url(source, V2_PATH), headers, where)
            path = V2_PATH
            if status == 404:
                status, raw = await _get(http, _url(source, V1_PATH), {}, where)
                path = V1_PATH
    except TimeoutError:
        raise SourceError(f"{where}: no answer within {timeout:g}s", reason="timeout") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{where}: {type(exc).__name__}", reason="transport") from None
    if status != 200:
        raise SourceError(f"{where}: {path} answered HTTP {status}", reason=f"http_{status}")
    return parse_answer(raw, path=path, where=where, now=time.time() if now is None else now)


def _url(source: InstanceRole, path: str) -> str:
    return source.metadata_url.rstrip("/") + path + (f"/{source.role}" if source.role else "")


async def _get(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], where: str
) -> tuple[int, bytes]:
    """GET ``url``; return its status and body, refusing a body over MAX_METADATA_BYTES."""
    async with http.stream("GET", url, headers=headers) as response:
        chunks, size = [], 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > MAX_METADATA_BYTES:
                raise SourceError(
                    f"{where}: answered more than {MAX_METADATA_BYTES} bytes", reason="too_large"
                )
            chunks.append(chunk)
        return response.status_code, b"".join(chunks)


def _text(value: object) -> str:
    """A message of the service, one line and short."""
    return _CONTROL.sub(" ", str(value))[:_MAX_MESSAGE]


def parse_answer(raw: bytes, *, path: str, where: str, now: float) -> Key:
    """Return the key of a metadata answer to ``path``; SourceError for anything unusable."""
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise SourceError(f"{where}: {path} answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise SourceError(f"{where}: {path} answered JSON that is not an object")
    code = body.get("RetCode", 0)
    if code != 0:
        message = _text(body.get("Message", "(no message)"))
        raise SourceError(f"{where}: refused: RetCode {_text(code)}: {message}", reason="refused")
    data = body.get("Data")
    if not isinstance(data, dict):
        raise SourceError(f"{where}: {path} answered no Data object")
    public, private = _FIELDS[path]
    values = {}
    for name in (public, private, "SecurityToken"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise SourceError(f"{where}: {path} answered no {name}")
        values[name] = value.strip()
    expires = parse_expiry(data.get("Expiration"), what=f"{where}: Expiration")
    if expires <= now:
        raise SourceError(
            f"{where}: the key it gave expired at {_iso(expires)}, in the past", reason="expired"
        )
    return Key(
        values[public],
        Secret(values[private]),
        Secret(values["SecurityToken"]),
        expires=expires,
        issued=now,
    )


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
