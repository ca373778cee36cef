"""What a request passes before the app (ASGI): its headers, body deadline and basic auth.

* Headers are read as RFC 9110 has them (``exporter.web.headers``): a repeated list-valued
  field (``Accept``, ``Accept-Encoding``) is one list, a repeated single-valued one
  (``Authorization``, ``Host``, ``Content-Length``, the scrape timeout) gets ``400``.
* The body must arrive whole within ``read_timeout`` and be at most 64 KiB (no endpoint takes
  one); a stalled body gets ``408`` and the connection is closed.
* Basic auth: a cached result is decided on the event loop at once; an uncached check runs
  bcrypt on a small thread pool at a lower CPU priority, at most ``max_requests`` waiting.
  A valid cached user never waits behind anyone's bcrypt and never competes with failed
  logins for a request slot.
* An answer cut short by the server's shutdown is one warning line, not a traceback.
* ``rate_limit`` (web config): a token bucket of ``burst`` requests refilled one per
  ``interval``, over all requests, as exporter-toolkit's: beyond it ``429 Too Many Requests``,
  before the body is read or a password checked. It is kept across reloads unless its
  settings change.
* ``http_server_config.headers`` (web config) are set on every answer that passes the rate
  limit, replacing a header of the same name.

The request cap and shared answers are the app's (``exporter.web.share``): they cover making
a page, not health checks nor writing to a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from exporter.web.auth import UNAUTHORIZED_BODY, UNAUTHORIZED_HEADERS, BasicAuth, parse_basic
from exporter.web.headers import DuplicateHeader, normalized
from exporter.web.webconfig import RateLimit, WebSecurity

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RETRY_AFTER_SECONDS = 1
MAX_BODY_BYTES = 64 * 1024
# Without one of these a request has no body (RFC 9112, 6.3): nothing to wait for.
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
BCRYPT_NICENESS = 10  # on Linux a thread has its own nice value


async def answer(
    send: Send, status: int, body: bytes, headers: list[tuple[str, str]], *, head: bool = False
) -> None:
    """Send a complete answer (``head``: its headers only)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


def text(body: str, *extra: tuple[str, str]) -> tuple[bytes, list[tuple[str, str]]]:
    """Return a plain-text body and its headers."""
    data = body.encode()
    return data, [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(data))),
        *extra,
    ]


BUSY = text(
    "too many concurrent requests, retry later\n", ("Retry-After", str(RETRY_AFTER_SECONDS))
)
SLOW_BODY = text("request body not received in time\n", ("Connection", "close"))
BIG_BODY = text(f"request body larger than {MAX_BODY_BYTES} bytes\n", ("Connection", "close"))
TOO_MANY = text("Too Many Requests\n", ("X-Content-Type-Options", "nosniff"))


class TokenBucket:
    """golang.org/x/time/rate's limiter: ``burst`` tokens, one back every ``interval`` s.

    It starts full; a request takes one token or is refused. Used on the event loop only.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._last = clock()

    def allow(self) -> bool:
        """Take a token if there is one."""
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(float(self.limit.burst), self._tokens + elapsed / self.limit.interval)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def with_headers(send: Send, extra: tuple[tuple[str, str], ...]) -> Send:
    """Return ``send`` setting ``extra`` headers on the answer (replacing same-named ones)."""
    names = {name.lower().encode() for name, _ in extra}
    added = [(name.lower().encode(), value.encode("latin-1")) for name, value in extra]

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [h for h in message.get("headers", []) if bytes(h[0]).lower() not in names]
            message = {**message, "headers": kept + added}
        await send(message)

    return sending


class Gate:
    """ASGI middleware in front of ``app``; ``auth`` returns the checker in force (or None)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Callable[[], BasicAuth | None],
        max_requests: int,
        read_timeout: float,
        security: Callable[[], WebSecurity | None] = lambda: None,
    ) -> None:
        self._app = app
        self._auth = auth
        self._security = security
        self._bucket: TokenBucket | None = None
        self._max = max_requests
        self._read_timeout = read_timeout
        self._checking = 0
        self._bcrypt = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1, thread_name_prefix="bcrypt", initializer=_nice
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (other scope types are ignored: lifespan is off)."""
        if scope["type"] != "http":
            return
        security = self._security()
        if security is not None and not self._within_rate(security.rate_limit):
            await answer(send, 429, *TOO_MANY)
            return
        if security is not None and security.headers:
            send = with_headers(send, security.headers)
        try:
            headers = normalized(scope["headers"])
        except DuplicateHeader as exc:
            await answer(send, 400, *text(f"{exc}\n", ("Connection", "close")))
            return
        scope = {**scope, "headers": headers}
        if any(name in _FRAMING for name, _ in headers):  # a body is coming: read it first
            body = await self._body(receive, send)
            if body is None:
                return
            receive = _replay(body, receive)
        if not await self._authorized(scope, send):
            return
        try:
            await self._app(scope, receive, send)
        except asyncio.CancelledError:  # uvicorn's last resort at shutdown
            log.warning(
                "answer cut short: the server stopped",
                extra={"path": scope.get("path", "")},
            )

    def _within_rate(self, limit: RateLimit | None) -> bool:
        """Return whether the rate limit in force (if any) lets one more request pass."""
        if limit is None:
            return True
        if self._bucket is None or self._bucket.limit != limit:
            self._bucket = TokenBucket(limit)
        if self._bucket.allow():
            return True
        log.debug("request refused: rate limit")
        return False

    async def _body(self, receive: Receive, send: Send) -> bytes | None:
        """Return the whole body, or None after answering 408/413 (or on a disconnect)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._read_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await answer(send, 408, *SLOW_BODY)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await answer(send, 413, *BIG_BODY)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _authorized(self, scope: Scope, send: Send) -> bool:
        """Return whether the request may pass; answer 401 or 503 when not."""
        auth = self._auth()
        if auth is None:
            return True
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        credentials = parse_basic(header)
        ok = auth.cached(*credentials) if credentials is not None else False
        if ok is None and credentials is not None:
            if self._checking >= self._max:
                await answer(send, 503, *BUSY)
                return False
            self._checking += 1
            try:
                ok = await asyncio.get_running_loop().run_in_executor(
                    self._bcrypt, auth.verify, *credentials
                )
            finally:
                self._checking -= 1
        if not ok:
            log.debug("unauthorized request", extra={"path": scope.get("path", "")})
            await answer(send, 401, UNAUTHORIZED_BODY, UNAUTHORIZED_HEADERS)
        return bool(ok)

    def close(self) -> None:
        """Stop the bcrypt threads."""
        self._bcrypt.shutdown(wait=False, cancel_futures=True)


def _nice() -> None:
    """Lower this bcrypt thread's CPU priority: serving requests comes first (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BCRYPT_NICENESS)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a ``receive`` that first yields the already read ``body``, then ``receive``."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
