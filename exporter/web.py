"""The HTTP face: landing page, telemetry path, health endpoints; WSGI on a threading server."""

from __future__ import annotations

import contextlib
import html
import logging
import math
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.metrics_core import Metric

from exporter import __version__, exposition
from exporter.collector import BuildInfoCollector, bucket_counts, target_families
from exporter.engine import MAX_COLLECT_SECONDS, UnknownTargetError
from exporter.runtime import Runtime
from exporter.webauth import WSGIApp
from exporter.websecurity import WebSecurity

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
TIMEOUT_HEADER = "HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"
DEFAULT_SCRAPE_TIMEOUT = 60.0
MIN_SCRAPE_BUDGET = 0.1
# At most this share of a scrape's budget is held back for writing the answer.
MAX_RENDER_RESERVE_SHARE = 0.5
HANDSHAKE_TIMEOUT = 10.0  # seconds a TLS client has to complete its handshake


def self_registry() -> CollectorRegistry:
    """Return a registry with the exporter's own process, platform and build metrics."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR,
                      BuildInfoCollector()):
        registry.register(collector)
    return registry


def scrape_budget(header: str | None, offset: float) -> float:
    """Return seconds to spend on a scrape, from Prometheus's timeout header minus offset.

    A header that is not a finite positive number counts as absent (60 s); a larger one than
    ``MAX_COLLECT_SECONDS`` (600 s) is clamped to it.
    """
    try:
        timeout = float(header) if header else DEFAULT_SCRAPE_TIMEOUT
    except ValueError:
        timeout = DEFAULT_SCRAPE_TIMEOUT
    if not (math.isfinite(timeout) and timeout > 0):
        timeout = DEFAULT_SCRAPE_TIMEOUT
    return max(MIN_SCRAPE_BUDGET, min(timeout, MAX_COLLECT_SECONDS) - offset)


class _Families:
    """A one-shot collector over already built metric families."""

    def __init__(self, families: Callable[[], Iterator[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        """Yield the families."""
        return self._families()


class App:
    """Route requests; the engine is read from ``runtime`` per request so reloads swap it."""

    def __init__(self, runtime: Runtime, *, telemetry_path: str = "/metrics",
                 timeout_offset: float = 0.5, enable_lifecycle: bool = False,
                 registry: CollectorRegistry | None = None) -> None:
        self._runtime = runtime
        self._path = telemetry_path
        self._offset = timeout_offset
        self._lifecycle = enable_lifecycle
        self._self_registry = registry or self_registry()
        # How long the last answer of each page (telemetry path, each probe) took to write:
        # the next scrape of it stops waiting for stragglers that much earlier.
        self._render_seconds: dict[str, float] = {}
        self._routes: dict[str, Callable[[dict[str, Any], StartResponse], Iterable[bytes]]] = {
            telemetry_path: self._metrics, "/probe": self._probe, "/": self._landing,
            "/-/healthy": self._ok, "/-/ready": self._ok}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one WSGI request."""
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/-/reload":
            return self._reload(method, start_response)
        route = self._routes.get(path)
        if route is None:
            return _text(start_response, "404 Not Found", "not found\n")
        if method not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "method not allowed\n",
                         [("Allow", "GET, HEAD")])
        body = route({**environ, "REQUEST_METHOD": "GET"}, start_response)
        return [] if method == "HEAD" else body

    def _landing(self, _: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return _html(start_response, self.landing_page())

    @staticmethod
    def _ok(_: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return _text(start_response, "200 OK", "OK\n")

    def _metrics(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Collect every target (within the scrape's budget) and render the page."""
        budget = scrape_budget(environ.get(TIMEOUT_HEADER), self._offset)
        engine = self._runtime.engine
        results = engine.collect(timeout=self._collect_budget(self._path, budget))
        rendering = time.monotonic()
        stats = engine.stats.snapshot()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self._self_registry)
        registry.register(_Families(self._runtime.families))
        registry.register(_Families(lambda: iter([bucket_counts(results),
                                                  *target_families(results, stats)])))
        registry.register(_Families(engine.regions.families))
        return self._timed(self._path, rendering,
                           exposition.render(environ, start_response, registry, results))

    def _probe(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Collect one account (and optionally one region) into a fresh registry."""
        query = parse_qs(environ.get("QUERY_STRING", ""))
        account = query.get("account", [""])[0]
        region = query.get("region", [None])[0]
        if not account:
            return _text(start_response, "400 Bad Request", "missing parameter: account\n")
        budget = scrape_budget(environ.get(TIMEOUT_HEADER), self._offset)
        deadline = time.monotonic() + budget
        engine = self._runtime.engine
        try:
            targets = engine.resolve(account, region or None, timeout=budget)
        except UnknownTargetError as exc:
            return _text(start_response, "400 Bad Request", f"{exc}\n")
        page = f"/probe?account={account}&region={region or ''}"
        results = engine.collect(timeout=self._collect_budget(page, deadline - time.monotonic()),
                                 targets=targets)
        rendering = time.monotonic()
        stats = engine.stats.snapshot({(t.account.name, t.region) for t in targets})
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(lambda: iter([bucket_counts(results),
                                                  *target_families(results, stats)])))
        return self._timed(page, rendering,
                           exposition.render(environ, start_response, registry, results))

    def _timed(self, page: str, started: float, body: Iterable[bytes]) -> Iterable[bytes]:
        """Return ``body``; when the server has sent it, remember how long that took."""
        def done() -> None:
            self._render_seconds[page] = time.monotonic() - started
        return _Timed(body, done)

    def _collect_budget(self, page: str, budget: float) -> float:
        """Return how long to wait for listings: ``budget`` less the last render of ``page``."""
        reserve = min(self._render_seconds.get(page, 0.0), budget * MAX_RENDER_RESERVE_SHARE)
        return max(MIN_SCRAPE_BUDGET, budget - reserve)

    def _reload(self, method: str, start_response: StartResponse) -> Iterable[bytes]:
        if method not in ("POST", "PUT"):
            return _text(start_response, "405 Method Not Allowed", "use POST\n",
                         [("Allow", "POST, PUT")])
        if not self._lifecycle:
            return _text(start_response, "403 Forbidden", "Lifecycle API is not enabled.\n")
        if self._runtime.reload():
            return _text(start_response, "200 OK", "configuration reloaded\n")
        return _text(start_response, "500 Internal Server Error",
                     "reload failed; the running configuration is kept (see the log)\n")

    def landing_page(self) -> str:
        """Return the HTML landing page: version, metrics link, targets; never secrets."""
        engine = self._runtime.engine
        rows = "".join(
            f"<tr><td>{html.escape(t.account.name)}</td><td>{html.escape(t.region)}</td>"
            f"<td>{html.escape(t.account.bucket_type)}</td></tr>"
            for t in engine.targets
        )
        path = html.escape(self._path, quote=True)
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>UCloud image exporter</title></head><body>"
            f"<h1>UCloud image exporter</h1><p>Version {html.escape(__version__)}</p>"
            f"<p><a href=\"{path}\">Metrics</a></p>"
            f"<p>API endpoint: {html.escape(engine.config.ucloud.base_url)}</p>"
            "<h2>Targets</h2><table><tr><th>account</th><th>region</th>"
            f"<th>bucket type</th></tr>{rows}</table></body></html>\n"
        )


class _Timed:
    """A WSGI body that calls ``done`` when the server closes it (PEP 3333: after sending)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body, self._done = body, done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        """Record the time taken."""
        self._done()


def _text(start_response: StartResponse, status: str, body: str,
          headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(data))), *(headers or [])])
    return [data]


def _html(start_response: StartResponse, body: str) -> list[bytes]:
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(data)))])
    return [data]


class _Server(ThreadingMixIn, WSGIServer):
    """Threading WSGI server; with ``tls`` set, each connection's thread runs the handshake."""

    daemon_threads = True
    request_queue_size = 128  # listen backlog: HA pairs, probes and bursts of scrapers
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None
    handshake_timeout: float = HANDSHAKE_TIMEOUT

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection, after a TLS handshake when TLS is on (never in accept)."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        conn = self._handshake(self.tls, request, client_address)
        if conn is None:
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            _close(conn)

    def _handshake(self, tls: ssl.SSLContext, sock: socket.socket,
                   client_address: Any) -> ssl.SSLSocket | None:
        """Return the TLS socket, or None (logged at debug) when the handshake fails."""
        sock.settimeout(self.handshake_timeout)
        try:
            return tls.wrap_socket(sock, server_side=True)
        except OSError as exc:  # ssl.SSLError, timeouts, resets
            log.debug("TLS handshake failed", extra={"address": _peer(client_address),
                                                     "reason": _reason(exc)})
            return None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed connection at debug (I/O) or error (bug), never print to stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.debug("connection failed", extra={"address": _peer(client_address),
                                                  "reason": _reason(exc)})
        else:
            log.error("error serving a connection", exc_info=True,
                      extra={"address": _peer(client_address)})


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        """Return the WSGI environ; ``HTTPS=on`` over TLS so url_scheme is https."""
        environ: dict[str, Any] = super().get_environ()
        if isinstance(self.connection, ssl.SSLSocket):
            environ["HTTPS"] = "on"
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


def _peer(client_address: Any) -> str:
    if isinstance(client_address, tuple) and len(client_address) >= 2:
        return f"{client_address[0]}:{client_address[1]}"
    return str(client_address)


def _reason(exc: OSError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else (exc.strerror or type(exc).__name__)


def _close(conn: socket.socket) -> None:
    """Send FIN after the response and close, ignoring a peer that already left."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
    conn.close()


def parse_listen_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``:9787``, ``127.0.0.1:9787``, ``[::1]:9787``)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid listen address {value!r}: want host:port, e.g. :9787")
    host = host.strip("[]")
    return host, int(port)


def serve(app: WSGIApp, address: str, security: WebSecurity | None = None, *,
          handshake_timeout: float = HANDSHAKE_TIMEOUT) -> _Server:
    """Bind ``address`` and serve ``app`` (TLS, basic auth per ``security``) in a thread."""
    host, port = parse_listen_address(address)
    server_class = _Server6 if ":" in host else _Server
    handler = security.wrap(app) if security is not None else app
    server = make_server(host, port, handler, server_class=server_class,
                         handler_class=_Handler)
    if security is not None and security.tls is not None:
        server.tls = security.tls.context
        server.handshake_timeout = handshake_timeout
    log.info("TLS is %s", "enabled" if server.tls else "disabled",
             extra={"address": address})
    if security is not None and security.users:
        log.info("basic authentication is enabled", extra={"address": address})
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
