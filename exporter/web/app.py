"""The HTTP face as an ASGI app: landing page, telemetry path, /probe, health, reload.

It runs on the server's event loop. Collections are awaited from the engine's own loop
(``Engine.acollect``); pages are rendered on a small pool of threads (``RENDER_THREADS``) and
written to each client a chunk at a time as it reads them, never holding a render thread or a
request slot while waiting for a client. Health, readiness and the landing page need neither
a slot nor the engine. Identical scrapes share one page (``exporter.web.share``).

The series budget (issue 22, ``exporter.budget``) applies to every page, each counted on its
own: the telemetry path and each /probe (a probe of one target is small, but a target with a
million buckets is not). A ``name[]`` scrape leaves out what its full page would. Only the
telemetry path carries ``ucloud_image_bucket_exporter_series_dropped``; each page logs once
per change of the groups it leaves out.
"""

from __future__ import annotations

import asyncio
import html
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from exporter import __version__, exposition, metrics
from exporter.budget import Plan, family_name, group_of, plan
from exporter.collector import (
    BuildInfoCollector,
    bucket_counts,
    docker_families,
    host_families,
    pacing_family,
    target_families,
    uhub_families,
    uhub_series,
)
from exporter.engine import Engine
from exporter.imagelines import ImageLines, image_counts, image_pieces
from exporter.results import Result, Target, UnknownTargetError
from exporter.runtime import Runtime
from exporter.web.budget import MIN_SCRAPE_BUDGET, WriteCost, scrape_budget
from exporter.web.gate import BUSY, Message, Receive, Scope, Send, answer, text
from exporter.web.headers import gzip_wanted
from exporter.web.share import Busy, Shared

log = logging.getLogger(__name__)

TIMEOUT_HEADER = "x-prometheus-scrape-timeout-seconds"
RENDER_THREADS = 2  # rendering is CPU-bound under the GIL: more threads only queue
OK = text("OK\n")
NOT_FOUND = text("not found\n")
NOT_ALLOWED = text("method not allowed\n", ("Allow", "GET, HEAD"))
FAILED = text("internal error while making the answer (see the log)\n")


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


@dataclass(frozen=True, slots=True)
class _Scrape:
    """What a scrape asked for: the answer depends on these and nothing else."""

    page: str  # the telemetry path, or the probe's account, project and region
    account: str | None  # None: the telemetry path
    region: str | None
    project: str | None
    accept: str = field(compare=False)  # what it stands for is content_type
    content_type: str
    gzip: bool
    names: tuple[str, ...]  # name[] filter
    budget: float  # seconds, as the share key has it (to the millisecond)


class _Made:
    """A page, its readers, and what learning its write cost needs.

    Its first reader makes each chunk as it writes it (a cached block inflated, small pieces
    joined); a page shared with more readers is made into chunks once, on a render thread,
    and every later reader writes those: the body of a shared page exists once per share key.
    """

    __slots__ = ("_body", "head", "page", "readers", "rendered", "series")

    def __init__(self, page: exposition.Page, series: int, rendered: float) -> None:
        self.page, self.series = page, series
        self.head = [(k.lower().encode(), v.encode()) for k, v in page.headers()]
        self.rendered = rendered  # monotonic time the rendering started
        self.readers = 0
        self._body: asyncio.Future[tuple[bytes, ...]] | None = None

    async def chunks(self, pool: ThreadPoolExecutor) -> Iterable[bytes]:
        """Return the chunks for one more reader of the page."""
        self.readers += 1
        if self.readers == 1:
            return self.page.chunks()
        if self._body is None:
            page = self.page
            self._body = asyncio.get_running_loop().run_in_executor(
                pool, lambda: tuple(page.chunks())
            )
        elif self._body.done():
            return self._body.result()
        return await asyncio.shield(self._body)


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
        max_requests: int = 40,
        write_timeout: float = 60.0,
        write_cost: WriteCost | None = None,
    ) -> None:
        """``write_cost``: what answering costs, as learned so far (a fresh one by default)."""
        self._runtime = runtime
        self._reload_web = reload_web
        self._path = telemetry_path
        self._offset = timeout_offset
        self._lifecycle = enable_lifecycle
        self._write_timeout = write_timeout
        self._self_registry = registry or self_registry()
        # What answering costs per series, per page (telemetry path, each probe): a scrape
        # stops waiting for stragglers early enough to write what it holds by its deadline.
        self._write_cost = write_cost or WriteCost()
        # Each target's per-bucket lines, reused while its buckets stay the same.
        self._lines = exposition.LineCache()
        # Each project's lines of the images inside its buckets, while its data stays the same.
        self._images = ImageLines()
        # The groups each page left out last (pages that leave out none are not kept).
        self._left_out: dict[str, tuple[str, ...]] = {}
        self._left_out_lock = threading.Lock()
        self._shared: Shared[_Made] = Shared(max_requests, quiet=(UnknownTargetError,))
        self._render = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="render")
        # Reloads run one at a time on a thread of their own (a storm of them queues here;
        # Runtime.reload coalesces those that wait together with SIGHUP's).
        self._reloader = ThreadPoolExecutor(1, thread_name_prefix="reload")

    def close(self) -> None:
        """Stop the render and reload threads (after the server stopped)."""
        self._render.shutdown(wait=False, cancel_futures=True)
        self._reloader.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (the gate has read its body and checked its headers)."""
        path, method = scope["path"], scope["method"]
        if path == "/-/reload":
            await self._reload(method, send)
        elif path in ("/-/healthy", "/-/ready"):
            await answer(send, 200, *OK, head=method == "HEAD")
        elif path not in ("/", "/probe", self._path):
            await answer(send, 404, *NOT_FOUND)
        elif method not in ("GET", "HEAD"):
            await answer(send, 405, *NOT_ALLOWED)
        elif path == "/":
            body = self.landing_page().encode()
            await answer(send, 200, body, _html_headers(body), head=method == "HEAD")
        elif method == "HEAD":  # headers only: no upstream collection
            _, content_type = choose_encoder(_header(scope, "accept"))
            await answer(send, 200, b"", [("Content-Type", content_type)])
        else:
            await self._scrape(scope, receive, send)

    async def _scrape(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the telemetry path or /probe: a shared or fresh page, written as read."""
        query = parse_qs(scope["query_string"].decode("latin-1"))
        asked = self._asked(scope, query)
        if isinstance(asked, bytes):
            await answer(send, 400, *text(asked.decode()))
            return
        deadline = asyncio.get_running_loop().time() + asked.budget
        made = await self._made(asked, deadline, send)
        if made is None:
            return
        chunks = await made.chunks(self._render)
        gone: asyncio.Future[Message] | None = None
        if made.page.length > exposition.CHUNK_BYTES:  # more than one chunk: stop if it leaves
            await receive()  # the request's (empty) body; what comes next is the disconnect
            gone = asyncio.ensure_future(receive())
        try:
            if await _write(made.head, chunks, send, gone):
                self._write_cost.learn(asked.page, made.series, time.monotonic() - made.rendered)
        finally:
            if gone is not None:
                gone.cancel()

    async def _made(self, asked: _Scrape, deadline: float, send: Send) -> _Made | None:
        """Return the page ``asked`` for, shared or made now; None after answering an error."""
        try:
            made = await self._shared.get(asked, lambda: self._make(asked), deadline=deadline)
            if made is None:  # another request's page was late: make our own, at once
                late = replace(asked, budget=MIN_SCRAPE_BUDGET)
                made = await self._shared.get(None, lambda: self._make(late), deadline=deadline)
        except Busy:
            log.debug("request refused: %d pages being made", self._shared.running)
            await answer(send, 503, *BUSY)
        except UnknownTargetError as exc:
            await answer(send, 400, *text(f"{exc}\n"))
        except Exception:  # logged once, where the page was made
            await answer(send, 500, *FAILED)
        else:
            return made
        return None

    def _asked(self, scope: Scope, query: dict[str, list[str]]) -> _Scrape | bytes:
        """Return what the scrape asks for, or the text of a 400 answer."""
        budget = scrape_budget(
            _header(scope, TIMEOUT_HEADER) or None, self._offset, ceiling=self._write_timeout
        )
        accept = _header(scope, "accept")
        common = (
            accept,
            choose_encoder(accept)[1],
            gzip_wanted(_header(scope, "accept-encoding")),
            tuple(query.get("name[]", ())),
            round(budget, 3),
        )
        if scope["path"] == self._path:
            return _Scrape(self._path, None, None, None, *common)
        account = query.get("account", [""])[0]
        if not account:
            return b"missing parameter: account\n"
        region = query.get("region", [None])[0] or None
        project = query.get("project", [None])[0] or None
        page = f"/probe?account={account}&project={project or ''}&region={region or ''}"
        return _Scrape(page, account, region, project, *common)

    async def _make(self, asked: _Scrape) -> _Made:
        """Collect what ``asked`` covers within its budget, then render it on a render thread."""
        engine = self._runtime.engine
        started = time.monotonic()
        targets: list[Target] | None = None
        if asked.account is not None:
            targets = await engine.aresolve(
                asked.account, asked.region, timeout=asked.budget, project=asked.project
            )
        budget = max(MIN_SCRAPE_BUDGET, started + asked.budget - time.monotonic())
        extra = uhub_series(engine.uhub.states()) if targets is None else 0
        collect = engine.config.collect
        per_bucket = 2 if collect.per_bucket_series else 0

        def reserve(buckets: int) -> float:  # what is past the series budget is not written
            series = min(per_bucket * buckets + extra, collect.max_series)
            return self._write_cost.reserve(asked.page, series, budget)

        results = await engine.acollect(timeout=budget, targets=targets, reserve=reserve)
        rendered = time.monotonic()
        loop = asyncio.get_running_loop()
        page, series = await loop.run_in_executor(
            self._render, self._page, engine, asked, targets, results
        )
        return _Made(page, series, rendered)

    def _page(
        self,
        engine: Engine,
        asked: _Scrape,
        targets: Sequence[Target] | None,
        results: Sequence[Result],
    ) -> tuple[exposition.Page, int]:
        """Render the page of ``results`` (on a render thread); return it and its series."""
        registry = CollectorRegistry(auto_describe=False)
        # Images inside buckets are on the telemetry path only. A full page gets their per-image
        # lines from imagelines' cache, a name[] page from the library (as per-bucket lines).
        images = engine.docker_images.states() if targets is None else []
        fast = not asked.names
        if targets is None:
            stats = engine.stats.snapshot()
            registry.register(self._self_registry)
            registry.register(_Families(self._runtime.families))
        else:  # UHub is per account: on the telemetry path only, never repeated by probes
            stats = engine.stats.snapshot({t.key for t in targets})
        registry.register(
            _Families(lambda: iter([bucket_counts(results), *target_families(results, stats)]))
        )
        if targets is None:
            registry.register(_Families(engine.regions.families))
            registry.register(_Families(engine.projects.families))
            registry.register(_Families(lambda: uhub_families(engine.uhub.states())))
            registry.register(_Families(lambda: docker_families(images, stats, per_image=not fast)))
            registry.register(
                _Families(lambda: host_families(engine.host_images.states(), engine.config, stats))
            )
            registry.register(_Families(lambda: iter([pacing_family(engine.concurrency_limits())])))
        collect = engine.config.collect
        filters = {a.name: a.buckets for a in engine.config.accounts if not a.buckets.everything}
        # The series budget: every family counted (the library's built, the per-bucket ones
        # from the columns), then whole groups left out.
        families = list(registry.collect())
        counts: dict[str, int] = {}
        for family in families:
            name = family_name(family.name)
            counts[name] = counts.get(name, 0) + len(family.samples)
        counts.update(exposition.per_bucket_counts(results, filters, self._lines))
        if fast:
            counts.update(image_counts(images, self._images))
        if targets is None:  # the dropped gauge: one series per droppable family
            counts[metrics.SERIES_DROPPED.name] = sum(1 for n in counts if group_of(n))
        cut = plan(
            counts, max_series=collect.max_series, per_bucket_series=collect.per_bucket_series
        )
        self._note(asked.page, cut, collect.max_series)
        kept = [f for f in families if not cut.leaves_out(f.name)]
        if targets is None:
            kept.append(_dropped_family(cut))
        chosen = CollectorRegistry(auto_describe=False)
        chosen.register(_Families(lambda: iter(kept)))
        page = exposition.render(
            chosen,
            results,
            self._lines,
            accept=asked.accept,
            gzip=asked.gzip,
            names=asked.names,
            filters=filters,
            left_out={name for name in cut.dropped if cut.leaves_out(name)},
            extra=image_pieces(images, self._images)
            if fast and not cut.leaves_out(metrics.DOCKER_IMAGE_TAGS.name)
            else (),
        )
        self._lines.retain(t.key for t in engine.targets)
        if targets is None:
            self._images.retain(images)
        return page, cut.series

    def _note(self, page: str, cut: Plan, max_series: int) -> None:
        """Log when the groups ``page`` leaves out change (not on every scrape)."""
        with self._left_out_lock:
            before = self._left_out.get(page, ())
            if cut.groups == before:
                return
            if cut.groups:
                self._left_out[page] = cut.groups
            else:
                del self._left_out[page]
        if not cut.groups:
            log.info(
                "series budget: %s serves every family again (%d series, collect.max_series %d)",
                page,
                cut.series,
                max_series,
            )
            return
        left = ", ".join(f"{name} {n}" for name, n in sorted(cut.dropped.items()) if n)
        log.log(
            logging.WARNING if cut.reason == "max_series" else logging.INFO,
            "series budget: %s leaves out %s (%s: %d of %d series; collect.max_series %d, "
            "per_bucket_series %s); series left out: %s",
            page,
            ", ".join(cut.groups),
            cut.reason,
            cut.total - cut.series,
            cut.total,
            max_series,
            str(cut.reason != "per_bucket_series").lower(),
            left or "none",
        )

    async def _reload(self, method: str, send: Send) -> None:
        if method not in ("POST", "PUT"):
            await answer(send, 405, *text("use POST\n", ("Allow", "POST, PUT")))
            return
        if not self._lifecycle:
            await answer(send, 403, *text("Lifecycle API is not enabled.\n"))
            return
        if await asyncio.get_running_loop().run_in_executor(self._reloader, self._reload_all):
            await answer(send, 200, *text("configuration reloaded\n"))
            return
        await answer(
            send,
            500,
            *text("reload failed; the running configuration is kept (see the log)\n"),
        )

    def _reload_all(self) -> bool:
        ok = self._runtime.reload()
        if self._reload_web is not None:
            ok = self._reload_web() and ok
        return ok

    def landing_page(self) -> str:
        """Return the HTML landing page: version, metrics link, targets; never secrets."""
        engine = self._runtime.engine
        rows = "".join(
            f"<tr><td>{html.escape(t.account.name)}</td><td>{html.escape(t.project)}</td>"
            f"<td>{html.escape(t.region)}</td>"
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
            "<h2>Targets</h2><table><tr><th>account</th><th>project</th><th>region</th>"
            f"<th>bucket type</th></tr>{rows}</table></body></html>\n"
        )


async def _write(
    head: list[tuple[bytes, bytes]],
    chunks: Iterable[bytes],
    send: Send,
    gone: asyncio.Future[Message] | None,
) -> bool:
    """Write a page a chunk at a time as the client takes them; return whether all of it was.

    A chunk made on demand (``Page.chunks``) is made only when the client has taken the one
    before: a client that stops reading holds about one chunk.
    """
    await send({"type": "http.response.start", "status": 200, "headers": head})
    for chunk in chunks:
        if gone is not None and gone.done():  # the client left, or the connection was closed
            return False
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if gone is not None and gone.done():
        return False
    await send({"type": "http.response.body", "body": b""})
    return True


def _dropped_family(cut: Plan) -> Metric:
    """Return ``ucloud_image_bucket_exporter_series_dropped``: each droppable family's series
    left out of this page (0 for one kept whole)."""
    family = metrics.SERIES_DROPPED.new()
    for name, n in sorted(cut.dropped.items()):
        family.add_metric((name,), n)
    return family


def _header(scope: Scope, name: str) -> str:
    """Return a header's value (the gate has joined or refused duplicates), or ""."""
    key = name.encode()
    for k, v in scope["headers"]:
        if k == key:
            return str(v.decode("latin-1"))
    return ""


def _html_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
