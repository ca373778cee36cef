"""The exporter's HTTP server (exporter.web.server) in process, answering "Hello World!" as
exporter-toolkit's Go tests do, behind a web config."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from exporter.web import webconfig
from exporter.web.server import serve
from exporter.web.watch import LiveWebConfig

HELLO = b"Hello World!"


async def hello(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """The Go tests' handler."""
    length = str(len(HELLO)).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
    )
    await send({"type": "http.response.body", "body": HELLO})


@contextmanager
def running(config: Path | None, *, watch: float = 0) -> Iterator[tuple[int, LiveWebConfig]]:
    """Serve ``hello`` with ``config`` (raises ConfigError as the exporter's start does)."""
    security = webconfig.load(config) if config is not None else None
    live = LiveWebConfig(str(config) if config is not None else "", security)
    server = serve(hello, "127.0.0.1:0", live)
    if watch:
        live.watch(watch)
    try:
        yield server.server_port, live
    finally:
        live.close()
        server.shutdown()
        server.server_close()


@contextmanager
def running_security(security: webconfig.WebSecurity) -> Iterator[int]:
    """Serve ``hello`` with an already parsed configuration; yield the port."""
    server = serve(hello, "127.0.0.1:0", LiveWebConfig("", security))
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
