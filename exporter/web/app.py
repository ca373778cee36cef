"""The HTTP face as a WSGI app: landing page, telemetry path, /probe, health, reload."""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from exporter import __version__, exposition
from exporter.collector import (
    BuildInfoCollector,
    bucket_counts,
    pacing_family,
    target_families,
    uhub_families,
)
from exporter.engine import Result, UnknownTargetError
from exporter.runtime import Runtime
from exporter.web.budget import MIN_SCRAPE_BUDGET, WriteCost, scrape_budget

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
TIMEOUT_HEADER = "HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"


def self_registry() -> CollectorRegistry:
    """Return a registry with the exporter's own process, platform and build metrics."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, BuildInfoCollector()):
        registry.register(collector)
    return registry


class _Families:
    """A one-shot collector over already built metric families."""

    def __init__(self, families: Callable[[], Iterator[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        """Yield the families."""
        return self._families()


class App:
    """Route requests; the engine is read from ``runtime`` per request so reloads swap it."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        telemetry_path: str = "/metrics",
        timeout_offset: float = 0.5,
        enable_lifecycle: bool = False,
        registry: CollectorRegistry | None = None,
        reload_web: Callable[[], bool] | None = None,
    ) -> None:
        self._runtime = runtime
        self._reload_web = reload_web
        self._path = telemetry_path
        self._offset = timeout_offset
        self._lifecycle = enable_lifecycle
        self._self_registry = registry or self_registry()
        # What answering costs per bucket, per page (telemetry path, each probe): a scrape
        # stops waiting for stragglers early enough to write what it holds by its deadline.
        self._write_cost = WriteCost()
        # Each target's per-bucket lines, reused while its buckets stay the same.
        self._lines = exposition.LineCache()
        self._routes: dict[str, Callable[[dict[str, Any], StartResponse], Iterable[bytes]]] = {
            telemetry_path: self._metrics,
            "/probe": self._probe,
            "/": self._landing,
            "/-/healthy": self._ok,
            "/-/ready": self._ok,
        }

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
            return _text(
                start_response,
                "405 Method Not Allowed",
                "method not allowed\n",
                [("Allow", "GET, HEAD")],
            )
        if method == "HEAD" and path in (self._path, "/probe"):
            return _head(environ, start_response)  # headers only: no upstream collection
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
        results = engine.collect(timeout=budget, reserve=self._reserve(self._path, budget))
        rendering = time.monotonic()
        stats = engine.stats.snapshot()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self._self_registry)
        registry.register(_Families(self._runtime.families))
        registry.register(
            _Families(lambda: iter([bucket_counts(results), *target_families(results, stats)]))
        )
        registry.register(_Families(engine.regions.families))
        registry.register(_Families(lambda: uhub_families(engine.uhub.states())))
        registry.register(_Families(lambda: iter([pacing_family(engine.concurrency_limits())])))
        body = exposition.render(environ, start_response, registry, results, self._lines)
        self._lines.retain((t.account.name, t.region) for t in engine.targets)
        return self._timed(self._path, rendering, results, body)

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
        budget = max(MIN_SCRAPE_BUDGET, deadline - time.monotonic())
        results = engine.collect(
            timeout=budget, targets=targets, reserve=self._reserve(page, budget)
        )
        rendering = time.monotonic()
        # UHub is per account, not per target: it is on the telemetry path only, so probes of
        # every account and region never repeat it.
        stats = engine.stats.snapshot({(t.account.name, t.region) for t in targets})
        registry = CollectorRegistry(auto_describe=False)
        registry.register(
            _Families(lambda: iter([bucket_counts(results), *target_families(results, stats)]))
        )
        body = exposition.render(environ, start_response, registry, results, self._lines)
        self._lines.retain((t.account.name, t.region) for t in engine.targets)
        return self._timed(page, rendering, results, body)

    def _timed(
        self, page: str, started: float, results: Sequence[Result], body: Iterable[bytes]
    ) -> Iterable[bytes]:
        """Return ``body``; when the server has sent it, learn what that cost per bucket."""
        buckets = sum(len(r.buckets or ()) for r in results)

        def done() -> None:
            self._write_cost.learn(page, buckets, time.monotonic() - started)

        return _Timed(body, done)

    def _reserve(self, page: str, budget: float) -> Callable[[int], float]:
        """Return the engine's ``reserve``: the time to answer ``n`` buckets of ``page``."""
        return lambda buckets: self._write_cost.reserve(page, buckets, budget)

    def _reload(self, method: str, start_response: StartResponse) -> Iterable[bytes]:
        if method not in ("POST", "PUT"):
            return _text(
                start_response, "405 Method Not Allowed", "use POST\n", [("Allow", "POST, PUT")]
            )
        if not self._lifecycle:
            return _text(start_response, "403 Forbidden", "Lifecycle API is not enabled.\n")
        ok = self._runtime.reload()
        if self._reload_web is not None:
            ok = self._reload_web() and ok
        if ok:
            return _text(start_response, "200 OK", "configuration reloaded\n")
        return _text(
            start_response,
            "500 Internal Server Error",
            "reload failed; the running configuration is kept (see the log)\n",
        )

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
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            "<title>UCloud image exporter</title></head><body>"
            f"<h1>UCloud image exporter</h1><p>Version {html.escape(__version__)}</p>"
            f'<p><a href="{path}">Metrics</a></p>'
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


def _text(
    start_response: StartResponse,
    status: str,
    body: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            *(headers or []),
        ],
    )
    return [data]


def _head(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """Answer HEAD on a metrics path: the Content-Type a GET would get, no body, no scrape."""
    _, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
    start_response("200 OK", [("Content-Type", content_type)])
    return []


def _html(start_response: StartResponse, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]
