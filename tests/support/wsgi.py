"""The exporter's WSGI app in process: a Runtime on a config file, and requests as environs.

The engine talks to a real simulator on loopback (or to ``httpx.MockTransport``); no server
process and no socket of the exporter's own, so routing and answers are checked in
milliseconds. The real server (uvicorn, TLS, limits) keeps its own process tests.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import yaml

from exporter import config
from exporter.runtime import Runtime
from exporter.web.app import App
from tests.support.procs import Samples, samples


@dataclass(frozen=True)
class Answer:
    """One WSGI response."""

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


def call(
    app: App,
    path: str = "/metrics",
    *,
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
) -> Answer:
    """Send one request through ``app`` (headers as HTTP names) and collect the answer."""
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": query}
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, head: list[tuple[str, str]], *_: Any) -> None:
        started.append((status, head))

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    ((status, head),) = started
    return Answer(int(status.split()[0]), {k.lower(): v for k, v in head}, data)


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
