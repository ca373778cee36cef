"""The UCloud API client: one pooled ``httpx.AsyncClient``, retries, a global in-flight bound."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import httpx
import orjson

from exporter import __version__
from exporter.config import Account, UCloudSettings
from exporter.credentials import Key
from exporter.ucloud._auth import ParamValue, format_value, signed_form
from exporter.ucloud._errors import (
    APIError,
    CredentialsError,
    DeadlineExceeded,
    DecodeError,
    HTTPStatusError,
    RequestTimeout,
    TransportError,
    UCloudError,
)
from exporter.ucloud._pacing import Pacer
from exporter.ucloud._text import clean
from exporter.ucloud._transport import TRANSPORTS, Channel

USER_AGENT = f"ucloud-image-exporter/{__version__}"
HEADERS = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
MAX_MESSAGE_CHARS = 500  # of the gateway's Message, kept in errors and log lines
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0

# Called once per HTTP attempt with the action and the error reason (None on success).
Observer = Callable[[str, str | None], None]
Sleep = Callable[[float], Awaitable[None]]
# "The key to sign with now": asked before every attempt with the account and the request's
# deadline; raises CredentialsError when the account has none (no request is sent then).
KeyProvider = Callable[[Account, float], Awaitable[Key]]


async def static_key(account: Account, deadline: float) -> Key:
    """The long-lived key pair written in the account (its configuration, file, profile, env)."""
    del deadline
    if account.instance_role is not None or account.assume_role is not None:
        raise CredentialsError(f"account {account.name}: temporary keys need a key provider")
    return Key(account.public_key, account.private_key)


T = TypeVar("T")


class UCloudClient:
    """Send signed UCloud API calls; safe to share between all targets of the exporter."""

    def __init__(
        self,
        settings: UCloudSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http: str = TRANSPORTS[0],
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        keys: KeyProvider = static_key,
    ) -> None:
        """``transport`` overrides ``http``, the choice among ``TRANSPORTS``; ``keys`` gives
        each request its key (the account's own key pair by default)."""
        self._settings = settings
        self.keys = keys
        self._http = Channel(
            settings.base_url,
            headers=HEADERS,
            max_connections=settings.max_concurrent_requests,
            transport=transport,
            choice=http,
        )
        self._slots = asyncio.Semaphore(settings.max_concurrent_requests)
        self._pacers: dict[str, Pacer] = {}
        self._rng = rng or random.Random()
        self._sleep = sleep

    @property
    def settings(self) -> UCloudSettings:
        """Return the settings this client was built with."""
        return self._settings

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def call(
        self,
        account: Account,
        params: Mapping[str, ParamValue],
        *,
        deadline: float,
        observe: Observer,
        parse: Callable[[dict[str, Any]], T],
        key: Key | None = None,
    ) -> T:
        """Send one action and ``parse`` its body; retry transient failures within budget.

        Each attempt is signed with ``key``, else with the key provider's key of the moment.
        """
        action = str(params["Action"])
        attempt = 0
        while True:
            request_id = None
            try:
                signing = key or await self.keys(account, deadline)
            except CredentialsError as exc:  # no request sent: nothing to observe
                exc.action = action
                raise
            try:
                answer, request_id = await self._attempt(account, signing, params, deadline)
                body = parse(answer)
            except UCloudError as exc:
                exc.action = action
                exc.request_id = exc.request_id or request_id  # an answer parse() refused
                observe(action, exc.reason)
                delay = self._backoff(attempt)
                if (
                    not exc.transient
                    or attempt >= self._settings.retries
                    or time.monotonic() + delay >= deadline
                ):
                    raise
                attempt += 1
                await self._sleep(delay)
                continue
            observe(action, None)
            return body

    def _backoff(self, attempt: int) -> float:
        base = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        return float(base * self._rng.uniform(0.5, 1.5))

    async def _attempt(
        self, account: Account, key: Key, params: Mapping[str, ParamValue], deadline: float
    ) -> tuple[dict[str, Any], str | None]:
        """Send one request; return its decoded body and the gateway's request id."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("scrape deadline reached before the request was sent")
        pacer = self._pacer(account)
        try:
            async with asyncio.timeout(remaining):
                async with pacer.slot() as epoch, self._slots:
                    status, raw, request_id = await self._post(key, params, deadline)
        except TimeoutError as exc:
            raise DeadlineExceeded(f"scrape deadline reached after {remaining:.2f}s") from exc
        try:
            if status != 200:
                raise HTTPStatusError(status)
            body = decode(raw)
        except UCloudError as exc:
            exc.request_id = request_id
            if exc.throttled:
                pacer.throttled(epoch)
            raise
        pacer.succeeded()
        return body, request_id

    def _pacer(self, account: Account) -> Pacer:
        pacer = self._pacers.get(account.name)
        if pacer is None:
            pacer = self._pacers[account.name] = Pacer(
                ceiling=self._settings.max_concurrent_requests,
                adaptive=self._settings.adaptive_concurrency,
                per_second=account.max_requests_per_second,
            )
        return pacer

    def adopt(self, settings: UCloudSettings) -> bool:
        """Take reloaded ``settings`` in place if they keep the endpoint and the pool size
        (timeouts, retries, page size and limits are read per request); return False when
        they need a new client. Requests in flight go on."""
        if (settings.base_url, settings.max_concurrent_requests) != (
            self._settings.base_url,
            self._settings.max_concurrent_requests,
        ):
            return False
        if settings.adaptive_concurrency != self._settings.adaptive_concurrency:
            self._pacers.clear()
        self._settings = settings
        return True

    def forget(self, names: Iterable[str]) -> None:
        """Drop the pacing of these accounts (removed by a reload, or their rate changed): their
        limit leaves ``concurrency_limits`` and their next request paces afresh."""
        for name in names:
            self._pacers.pop(name, None)

    def concurrency_limits(self) -> dict[str, int]:
        """Return each account's current in-flight limit (accounts that sent a request)."""
        pacers = dict(self._pacers)  # one atomic copy: the loop may add an account meanwhile
        return {name: pacer.limit for name, pacer in pacers.items()}

    async def _post(
        self, key: Key, params: Mapping[str, ParamValue], deadline: float
    ) -> tuple[int, bytearray, str | None]:
        timeout = max(0.001, min(self._settings.timeout_seconds, deadline - time.monotonic()))
        body = signed_form(
            {k: format_value(v) for k, v in params.items()},
            key.public_key,
            key.private_key,
            token=key.token,
        )
        try:
            # httpx's timeouts are per phase (one read); this bounds the whole exchange.
            async with asyncio.timeout(timeout):
                return await self._http.post(body, timeout, self._settings.max_response_bytes)
        except (TimeoutError, httpx.TimeoutException) as exc:
            if timeout < self._settings.timeout_seconds:  # cut short by the scrape deadline
                raise DeadlineExceeded(f"scrape deadline reached after {timeout:.2f}s") from exc
            raise RequestTimeout(f"{type(exc).__name__} after {timeout:.2f}s") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc


def decode(raw: bytes | bytearray) -> dict[str, Any]:
    """Parse a gateway answer; raise APIError for RetCode != 0, DecodeError for junk."""
    try:
        body = loads(raw)
    except (ValueError, RecursionError) as exc:  # also too deep, or an int of > 4300 digits
        raise DecodeError(f"body is not JSON: {exc!s:.200}") from exc
    if not isinstance(body, dict):
        raise DecodeError(f"body is a JSON {type(body).__name__}, not an object")
    code = body.get("RetCode")
    if isinstance(code, bool) or not isinstance(code, int):
        raise DecodeError(f"RetCode is missing or not an integer: {code!r:.40}")
    if code != 0:
        message = body.get("Message")
        text = clean(message[:MAX_MESSAGE_CHARS]) if isinstance(message, str) else "(no message)"
        raise APIError(code, text)
    return body


# A body's skeleton: every digit as "0" (a run of 19 zeros marks a number orjson may not keep
# exact); quotes, backslashes, brackets and "u" (as in the escape \uXXXX) as they are; every
# other byte as a space. One pass of bytes.translate, for both checks of ``loads``.
_SKELETON = bytes(
    c if c in b'"\\[]{}u' else ord("0") if c in b"0123456789" else ord(" ") for c in range(256)
)
_LONG_NUMBER = b"0" * 19
# Nesting to this depth is within json's limit (the recursion limit, 1000, less the stack).
MAX_FAST_DEPTH = 800
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def nesting_within(
    raw: bytes | bytearray, limit: int = MAX_FAST_DEPTH, *, skeleton: bytes | None = None
) -> bool:
    """Tell whether the lists and objects of JSON text ``raw`` nest at most ``limit`` deep:
    exact for valid JSON (brackets in strings do not count); False when unsure (not JSON).

    A few passes of bytes methods, never a loop per byte: of ``raw``'s skeleton (given, or
    made) only quotes, backslashes, brackets and "u" are kept; escaped quotes and backslashes
    are dropped (where the kept bytes show one may be there); every string goes, the many
    without a bracket in them (now ``""``) first; then each innermost pair ``[]``, one pass
    per level.
    """
    kept = (raw.translate(_SKELETON) if skeleton is None else skeleton).translate(None, b" 0")
    if kept.count(b"[") + kept.count(b"{") <= limit:
        return True
    if b"\\" in kept and (b'\\"' in kept or b"\\\\" in kept):
        unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
        kept = unescaped.translate(_SKELETON).translate(None, b" 0")
    # Any backslash left escapes neither a quote nor a backslash: the quotes delimit strings.
    kept = kept.translate(_BRACES_AS_BRACKETS, b"\\u").replace(b'""', b"")
    if b'"' in kept:  # strings with brackets in them
        kept = b"".join(kept.split(b'"')[::2])
    for _ in range(limit):
        if not kept:
            return True
        inner = kept.replace(b"[]", b"")
        if len(inner) == len(kept):
            return False  # not balanced: not JSON
        kept = inner
    return not kept


def loads(raw: bytes | bytearray) -> Any:
    """Return ``json.loads(raw)``, through orjson (about twice as fast) whenever that is the
    same.

    orjson turns integers beyond 64 bits into floats, nests deeper than ``json`` allows, and
    refuses what ``json`` accepts and a gateway may send (lone surrogate escapes, ``NaN``, a
    byte order mark, UTF-16). A body with a run of 19 or more digits or nested more than
    ``MAX_FAST_DEPTH`` deep (brackets in strings do not count), or one orjson refuses, goes
    to ``json`` instead, so the result, and every error's text, is always ``json``'s.
    """
    skeleton = bytes(raw.translate(_SKELETON))
    if _LONG_NUMBER not in skeleton and nesting_within(raw, skeleton=skeleton):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)
