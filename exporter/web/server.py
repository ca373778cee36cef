"""The production HTTP server: uvicorn (asyncio, h11) with connection, header and write limits.

uvicorn gives the event loop, HTTP/1.1 parsing (h11), non-blocking TLS handshakes and a
graceful shutdown; the ASGI app runs on its loop behind ``exporter.web.gate``. Three limits
uvicorn does not have are added through its documented extension point, the HTTP protocol
class (``uvicorn.Config(http=...)``):

* read-header timeout: a connection that has not sent a complete request head within
  ``read_header_timeout`` of connecting (or of its previous answer) is closed, however slowly
  it trickles bytes;
* write timeout: an answer not written whole within ``write_timeout`` of the end of its
  request head (Go's ``http.Server.WriteTimeout``) has its connection closed, so a client
  that stops reading holds a connection for that long at most;
* client_allowed_sans (web config): a TLS connection whose client certificate carries none
  of the allowed subject alternative names reads ``403 Forbidden`` and is closed before any
  request is read (exporter-toolkit fails its handshake);
* connection cap: with ``max_connections`` open, a new connection closes the oldest one that
  is not in the middle of a request (idle or still sending headers), or is itself closed when
  every connection is busy. Either way the closed one reads ``503`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from exporter.web.gate import ASGIApp, Gate
from exporter.web.watch import LiveWebConfig
from exporter.web.webconfig import WebSecurity, canonical_san

log = logging.getLogger(__name__)
# What a connection closed because of the connection cap reads before the close.
OVER_CAPACITY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)
# What a TLS connection whose client certificate has none of client_allowed_sans reads.
FORBIDDEN = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 10\r\nConnection: close\r\n\r\nForbidden\n"
)
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
# At shutdown, answers still being written after this long have their connections closed
# (one warning); uvicorn's own last resort, cancelling the app with a traceback, comes later.
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one exporter serves at once, and how long it waits for a client."""

    max_connections: int = 4096
    max_requests: int = 40
    read_header_timeout: float = 10.0
    read_timeout: float = 10.0
    write_timeout: float = 60.0
    tls_handshake_timeout: float = 10.0


class _Loop(asyncio.SelectorEventLoop):
    """The event loop, its listeners with a TLS handshake timeout (asyncio's default is 60 s).

    uvicorn has no option for it; the event loop is the pluggable part (uvicorn itself swaps in
    uvloop the same way), so the timeout is set where listeners are made.
    """

    def __init__(self, handshake_timeout: float) -> None:
        super().__init__()
        self._handshake_timeout = handshake_timeout

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:
        """Create a listener; TLS handshakes that take longer than the timeout are dropped."""
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", self._handshake_timeout)
        return await super().create_server(*args, **kwargs)


class _Connections:
    """Open connections, oldest first, split into those with a request running and the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._waiting: dict[H11Protocol, None] = {}  # insertion order: oldest first
        self._busy: set[H11Protocol] = set()
        self._reused: set[H11Protocol] = set()  # answered before: now idle keep-alive

    def opened(self, conn: H11Protocol) -> None:
        if len(self._waiting) + len(self._busy) >= self.cap:
            victim = next(iter(self._waiting), None)
            if victim is None:
                log.debug("connection refused: %d busy connections", len(self._busy))
                _refuse(conn)
                return
            log.debug("connection cap reached: closing the oldest waiting connection")
            del self._waiting[victim]
            _refuse(victim, quietly=victim in self._reused)
        self._waiting[conn] = None

    def busy(self, conn: H11Protocol, busy: bool) -> None:
        if busy and conn in self._waiting:
            del self._waiting[conn]
            self._busy.add(conn)
        elif not busy and conn in self._busy:
            self._busy.discard(conn)
            self._reused.add(conn)
            self._waiting[conn] = None

    def closed(self, conn: H11Protocol) -> None:
        self._waiting.pop(conn, None)
        self._busy.discard(conn)
        self._reused.discard(conn)

    def abort_busy(self) -> int:
        """Close every connection still answering a request; return how many there were."""
        busy = list(self._busy)
        for conn in busy:
            reset(conn.transport)
        return len(busy)


def reset(transport: asyncio.Transport) -> None:
    """Close a connection at once with a reset (RST).

    A plain abort leaves what the client never read queued in the kernel, on an orphaned
    socket that lingers for minutes (megabytes each, outside the connection cap); lingering
    with a zero timeout drops it.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _refuse(conn: H11Protocol, *, quietly: bool = False) -> None:
    """Answer 503 with Retry-After (no request was read yet) and close.

    An idle keep-alive connection is closed quietly instead: HTTP clients retry a request on a
    fresh connection when a reused one was closed before any answer.
    """
    if not quietly:
        conn.transport.write(OVER_CAPACITY)
    conn.transport.close()


def peer_allowed(transport: asyncio.BaseTransport, allowed: frozenset[str] | None) -> bool:
    """Return whether the client certificate of a TLS connection has an allowed SAN.

    As exporter-toolkit: DNS names, e-mail addresses, IP addresses and URIs, compared exactly;
    without a certificate none is found.
    """
    ssl_object = transport.get_extra_info("ssl_object")
    if allowed is None or ssl_object is None:
        return True
    cert = ssl_object.getpeercert() or {}
    found = [
        canonical_san(value) if kind == "IP Address" else value
        for kind, value in cert.get("subjectAltName", ())
        if kind in ("DNS", "email", "URI", "IP Address")
    ]
    return any(value in allowed for value in found)


def _protocol(
    limits: Limits,
    connections: _Connections,
    security: Callable[[], WebSecurity | None] = lambda: None,
) -> type[H11Protocol]:
    """Return uvicorn's h11 protocol with a read-header timeout, the connection cap and the
    client_allowed_sans check."""

    class Guarded(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _write_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()
            connections.opened(self)
            current = security()
            sans = current.tls.allowed_sans if current and current.tls else None
            if not transport.is_closing() and not peer_allowed(transport, sans):
                log.debug("connection refused: no allowed SAN in the client certificate")
                transport.write(FORBIDDEN)
                transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._head_seen()

        def on_response_complete(self) -> None:
            self._stop_write_timer()
            super().on_response_complete()  # may start a pipelined request at once
            connections.busy(self, False)
            if not self.transport.is_closing():
                self._arm()
                self._head_seen()

        def _head_seen(self) -> None:
            """Once a whole request head arrived, its answer has a deadline."""
            if self.conn.their_state is not h11.IDLE and self._write_timer is None:
                self._disarm()
                self._write_timer = self.loop.call_later(limits.write_timeout, self._too_slow)
                connections.busy(self, True)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            self._stop_write_timer()
            connections.closed(self)
            super().connection_lost(exc)

        def _stop_write_timer(self) -> None:
            if self._write_timer is not None:
                self._write_timer.cancel()
                self._write_timer = None

        def _too_slow(self) -> None:
            self._write_timer = None
            log.debug("closing a connection whose answer took over %gs", limits.write_timeout)
            reset(self.transport)  # close() would wait to flush to a client that never reads

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(limits.read_header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expire(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                log.debug(
                    "closing a connection without a request head after %gs",
                    limits.read_header_timeout,
                )
                self.transport.close()

    return Guarded


def parse_listen_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``:9787``, ``127.0.0.1:9787``, ``[::1]:9787``)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid listen address {value!r}: want host:port, e.g. :9787")
    host = host.strip("[]")
    return host, int(port)


def _fit_open_files(max_connections: int) -> None:
    """Raise the soft RLIMIT_NOFILE to hold ``max_connections`` plus room; warn if it can't."""
    want = max_connections + 256  # listener, upstream connections, logs, Python itself
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < want:
            log.warning(
                "open files are limited to %d: fewer connections than "
                "--web.max-connections=%d will fit",
                new,
                max_connections,
            )


def _bind(address: str) -> socket.socket:
    host, port = parse_listen_address(address)
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on accepted
    # sockets whose protocol says TCP; with 0, an answer's body waited for the client's delayed
    # ACK (40 ms) on every reused connection.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """uvicorn serving ``app`` on ``address`` in a thread of its own, with ``limits``."""

    def __init__(
        self, app: ASGIApp, address: str, *, limits: Limits, web: LiveWebConfig | None = None
    ) -> None:
        self._sock = _bind(address)
        _fit_open_files(limits.max_connections)

        def security() -> WebSecurity | None:
            return web.security if web is not None else None

        self._gate = Gate(
            app,
            auth=lambda: web.auth if web is not None else None,
            max_requests=limits.max_requests,
            read_timeout=limits.read_timeout,
            security=security,
        )
        self._connections = _Connections(limits.max_connections)
        config = uvicorn.Config(
            self._gate,
            http=_protocol(limits, self._connections, security),
            lifespan="off",
            interface="asgi3",
            ws="none",
            access_log=False,
            log_config=None,
            log_level="error",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=max(1, round(limits.read_header_timeout)),
            timeout_graceful_shutdown=round(STOP_GRACE_SECONDS) + 2,
            backlog=2048,
        )
        config.load()
        config.ssl = web.tls_context if web is not None else None  # our context, reloadable
        self._server = uvicorn.Server(config)
        self._handshake_timeout = limits.tls_handshake_timeout
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)

    @property
    def server_port(self) -> int:
        """Return the port bound (useful with port 0)."""
        return int(self._sock.getsockname()[1])

    def _run(self) -> None:
        with asyncio.Runner(loop_factory=lambda: _Loop(self._handshake_timeout)) as runner:
            self._loop = runner.get_loop()
            runner.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> Server:
        """Start serving; return once the listener accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise OSError(0, "HTTP server did not start in time")
            time.sleep(0.01)
        if not self._server.started:
            raise OSError(0, "HTTP server failed to start (see the log)")
        return self

    def shutdown(self) -> None:
        """Stop accepting, let running requests finish (up to 5 s), stop the thread.

        Connections still answering then are closed, with one warning line.
        """
        self._server.should_exit = True
        with contextlib.suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(
                self._loop.call_later, STOP_GRACE_SECONDS, self._cut_short
            )
        self._thread.join(STOP_TIMEOUT)
        self._gate.close()

    def _cut_short(self) -> None:
        if cut := self._connections.abort_busy():
            log.warning(
                "shutdown: closed %d connections still answering after %gs", cut, STOP_GRACE_SECONDS
            )

    def server_close(self) -> None:
        """Close the listening socket."""
        self._sock.close()


#: The audit event ``serve`` raises (``sys.audit``) with the address: tests count the real
#: servers they start (tests/support/e2e.py).
SERVER_STARTED = "exporter.web.serve"


def serve(
    app: ASGIApp, address: str, web: LiveWebConfig | None = None, *, limits: Limits | None = None
) -> Server:
    """Bind ``address`` and serve ``app`` (TLS, basic auth per ``web``) in a thread."""
    sys.audit(SERVER_STARTED, address)
    server = Server(app, address, limits=limits or Limits(), web=web).start()
    log.info(
        "TLS is %s",
        "enabled" if web and web.tls_context else "disabled",
        extra={"address": address},
    )
    if web is not None and web.auth is not None:
        log.info("basic authentication is enabled", extra={"address": address})
    return server
