"""The exporter's ASGI app in process: a Runtime on a config file, and requests as scopes.

The engine talks to a real simulator on loopback (or to ``httpx.MockTransport``); no server
process and no socket of the exporter's own, so routing and answers are checked in
milliseconds. The real server (uvicorn, TLS, limits) keeps its own process tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from exporter import config
from exporter.runtime import Runtime
from exporter.web.app import App
from exporter.web.gate import Gate
from tests.support.procs import Samples, samples


@dataclass(frozen=True)
class Answer:
    """One response."""

    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def text(self) -> str:
        """Return the body as text, un-gzipped when it was compressed."""
        raw = (
            gzip.decompress(self.body)
            if self.headers.get("content-encoding") == "gzip"
            else self.body
        )
        return raw.decode()

    def samples(self) -> Samples:
        """Parse the body as an exposition."""
        return samples(self.text)


def call(app: App, path: str = "/metrics", **request: Any) -> Answer:
    """Send one request through ``app`` on an event loop of its own (``acall``'s arguments)."""
    return asyncio.run(acall(app, path, **request))


async def acall(
    app: App,
    path: str = "/metrics",
    *,
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Answer:
    """Send one request through ``app`` (headers as HTTP names; a list may repeat one), through
    the gate as the server has it, on the running event loop, and collect the answer."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in pairs],
        "http_version": "1.1",
        "scheme": "http",
    }
    sent = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    status, head, chunks = 0, {}, []

    async def send(message: Any) -> None:
        nonlocal status, head
        if message["type"] == "http.response.start":
            status = message["status"]
            head = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    gate = Gate(app, auth=lambda: None, max_requests=40, read_timeout=10)
    try:
        await gate(scope, receive, send)
    finally:
        gate.close()
    return Answer(status, head, b"".join(chunks))


@contextlib.contextmanager
def runtime_on(workdir: Path, cfg: dict[str, Any]) -> Iterator[tuple[Runtime, Path]]:
    """Yield a Runtime loading ``workdir/config.yaml`` (written from ``cfg``) and its path."""
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    runtime = Runtime(lambda: config.load(path))
    try:
        yield runtime, path
    finally:
        runtime.close()


class Scraper:
    """The app and a ``get`` like the process helper's, for tests that only read answers."""

    def __init__(self, app: App) -> None:
        self.app = app

    def get(self, path: str = "/metrics", *, query: str = "") -> Answer:
        """GET ``path`` through the app."""
        return call(self.app, path, query=query)
