"""A recording proxy on loopback: every request as it came on the wire, then passed upstream.

Two clients pointed at one :class:`Recorder` in front of the simulator can be compared on what
they really sent (method, path, headers, raw body), while the simulator still checks their
signatures and answers them.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import cast
from urllib.parse import parse_qsl, urlsplit

from tests.support.loopback import LoopbackServer


@dataclass(frozen=True)
class Recorded:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded body's fields."""
        return dict(parse_qsl(self.body.decode("ascii"), keep_blank_values=True))

    @property
    def pairs(self) -> set[str]:
        """The body's ``name=value`` pairs as sent (still encoded), in any order."""
        return set(self.body.decode("ascii").split("&"))


class Recorder(LoopbackServer):
    """Record requests and forward them to ``upstream`` (``http://127.0.0.1:PORT/``)."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        self._upstream = cast(str, target.hostname), cast(int, target.port)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        """Record the request, pass it upstream, send back upstream's answer."""
        body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        seen = Recorded(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self.requests.append(seen)
        upstream = http.client.HTTPConnection(*self._upstream, timeout=5)
        try:
            upstream.request(
                "POST", h.path, body, {"Content-Type": h.headers.get("Content-Type", "")}
            )
            answer = upstream.getresponse()
            status, data = answer.status, answer.read()
            content_type = answer.getheader("Content-Type", "application/json")
        finally:
            upstream.close()
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @property
    def url(self) -> str:
        """Return the base URL, ``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    def take(self) -> list[Recorded]:
        """Return the requests recorded so far and forget them."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken
