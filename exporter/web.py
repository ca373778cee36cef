"""The HTTP face: landing page, telemetry path, health endpoints; WSGI on a threading server."""

from __future__ import annotations

import html
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    make_wsgi_app,
)

from exporter import __version__
from exporter.collector import BucketCollector, BuildInfoCollector
from exporter.engine import Engine

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
TIMEOUT_HEADER = "HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"
DEFAULT_SCRAPE_TIMEOUT = 60.0
MIN_SCRAPE_BUDGET = 0.1


def self_registry() -> CollectorRegistry:
    """Return a registry with the exporter's own process, platform and build metrics."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR,
                      BuildInfoCollector()):
        registry.register(collector)
    return registry


def scrape_budget(header: str | None, offset: float) -> float:
    """Return seconds to spend on a scrape, from Prometheus's timeout header minus offset."""
    try:
        timeout = float(header) if header else DEFAULT_SCRAPE_TIMEOUT
    except ValueError:
        timeout = DEFAULT_SCRAPE_TIMEOUT
    if not timeout > 0:  # also rejects NaN
        timeout = DEFAULT_SCRAPE_TIMEOUT
    return max(MIN_SCRAPE_BUDGET, timeout - offset)


class App:
    """Route requests; ``engine`` is read per request so a reload can swap it."""

    def __init__(self, engine: Callable[[], Engine], *, telemetry_path: str = "/metrics",
                 timeout_offset: float = 0.5, registry: CollectorRegistry | None = None) -> None:
        self._engine = engine
        self._path = telemetry_path
        self._offset = timeout_offset
        self._self_registry = registry or self_registry()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one WSGI request."""
        path = environ.get("PATH_INFO", "/")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "method not allowed\n",
                         [("Allow", "GET, HEAD")])
        if path == self._path:
            return self._metrics(environ, start_response)
        if path == "/":
            return _html(start_response, self.landing_page())
        if path in ("/-/healthy", "/-/ready"):
            return _text(start_response, "200 OK", "OK\n")
        return _text(start_response, "404 Not Found", "not found\n")

    def _metrics(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        budget = scrape_budget(environ.get(TIMEOUT_HEADER), self._offset)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self._self_registry)
        registry.register(BucketCollector(self._engine(), timeout=budget))
        result: Iterable[bytes] = make_wsgi_app(registry)(environ, start_response)
        return result

    def landing_page(self) -> str:
        """Return the HTML landing page: version, metrics link, targets; never secrets."""
        engine = self._engine()
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
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


def parse_listen_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``:9787``, ``127.0.0.1:9787``, ``[::1]:9787``)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid listen address {value!r}: want host:port, e.g. :9787")
    host = host.strip("[]")
    return host, int(port)


def serve(app: App, address: str) -> _Server:
    """Bind ``address`` and serve ``app`` in a background thread; return the server."""
    host, port = parse_listen_address(address)
    server_class = _Server6 if ":" in host else _Server
    server = make_server(host, port, app, server_class=server_class, handler_class=_Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
