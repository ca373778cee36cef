"""What a request passes before the app (ASGI): its body deadline, basic auth, the request cap.

* The body must arrive whole within ``read_timeout`` and be at most 64 KiB (no endpoint takes
  one); a stalled body gets ``408`` and the connection is closed.
* Basic auth: a cached result is decided on the event loop at once; an uncached check runs
  bcrypt on a small thread pool at a lower CPU priority, at most ``max_requests`` waiting.
  A valid cached user never waits behind anyone's bcrypt and never competes with failed
  logins for a request slot.
* At most ``max_requests`` requests run the app at once; the next gets ``503`` with
  ``Retry-After`` at once instead of waiting in a queue.
* Identical GETs (path, query, Accept, Accept-Encoding) that arrive while one of them runs
  share its answer instead of taking a slot: a burst of scrapes costs one page, as the engine
  already makes it cost one collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from exporter.web.auth import UNAUTHORIZED_BODY, UNAUTHORIZED_HEADERS, BasicAuth, parse_basic

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RETRY_AFTER_SECONDS = 1
MAX_BODY_BYTES = 64 * 1024
BCRYPT_NICENESS = 10  # on Linux a thread has its own nice value


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    """Send a complete answer."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _text(body: str, *extra: tuple[str, str]) -> tuple[bytes, list[tuple[str, str]]]:
    data = body.encode()
    return data, [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(data))),
        *extra,
    ]


BUSY = _text(
    "too many concurrent requests, retry later\n", ("Retry-After", str(RETRY_AFTER_SECONDS))
)
SLOW_BODY = _text("request body not received in time\n", ("Connection", "close"))
BIG_BODY = _text(f"request body larger than {MAX_BODY_BYTES} bytes\n", ("Connection", "close"))


class Gate:
    """ASGI middleware in front of ``app``; ``auth`` returns the checker in force (or None)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Callable[[], BasicAuth | None],
        max_requests: int,
        read_timeout: float,
    ) -> None:
        self._app = app
        self._auth = auth
        self._max = max_requests
        self._read_timeout = read_timeout
        self._running = 0
        self._checking = 0
        self._leaders: dict[tuple[bytes, ...], asyncio.Future[list[Message] | None]] = {}
        self._bcrypt = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1, thread_name_prefix="bcrypt", initializer=_nice
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (other scope types are ignored: lifespan is off)."""
        if scope["type"] != "http":
            return
        body = await self._body(receive, send)
        if body is None or not await self._authorized(scope, send):
            return
        key = _share_key(scope) if body == b"" else None
        leader = self._leaders.get(key) if key is not None else None
        if leader is not None:
            answer = await asyncio.shield(leader)
            if answer is not None:
                for message in answer:
                    await send(message)
                return
        await self._run(scope, _replay(body, receive), send, key)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, key: tuple[bytes, ...] | None
    ) -> None:
        """Run the app if a slot is free (else 503); let identical requests share the answer."""
        if self._running >= self._max:
            log.debug("request refused: %d requests running", self._running)
            await _answer(send, 503, *BUSY)
            return
        self._running += 1
        recorded: list[Message] = []
        shared: asyncio.Future[list[Message] | None] | None = None
        if key is not None and key not in self._leaders:
            shared = self._leaders[key] = asyncio.get_running_loop().create_future()

        async def tee(message: Message) -> None:
            recorded.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._settle(key, shared, recorded)  # before the client can send its next one
            await send(message)

        try:
            await self._app(scope, receive, tee if shared is not None else send)
        finally:
            self._running -= 1
            self._settle(key, shared, None)

    def _settle(
        self,
        key: tuple[bytes, ...] | None,
        shared: asyncio.Future[list[Message] | None] | None,
        answer: list[Message] | None,
    ) -> None:
        """Hand ``answer`` to the requests sharing it; later ones run on their own."""
        if shared is None or shared.done():
            return
        if key is not None and self._leaders.get(key) is shared:
            del self._leaders[key]
        shared.set_result(answer)

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
                await _answer(send, 408, *SLOW_BODY)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _answer(send, 413, *BIG_BODY)
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
                await _answer(send, 503, *BUSY)
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
            await _answer(send, 401, UNAUTHORIZED_BODY, UNAUTHORIZED_HEADERS)
        return bool(ok)

    def close(self) -> None:
        """Stop the bcrypt threads."""
        self._bcrypt.shutdown(wait=False, cancel_futures=True)


def _nice() -> None:
    """Lower this bcrypt thread's CPU priority: serving requests comes first (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BCRYPT_NICENESS)


def _share_key(scope: Scope) -> tuple[bytes, ...] | None:
    """Return what makes two GETs' answers equal, or None for other methods."""
    if scope["method"] != "GET":
        return None
    headers = dict(scope["headers"])
    return (
        scope["path"].encode(),
        scope["query_string"],
        headers.get(b"accept", b""),
        headers.get(b"accept-encoding", b""),
    )


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
