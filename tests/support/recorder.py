"""A recording proxy on loopback: every request as it came on the wire, then passed upstream.

Two clients pointed at one :class:`Recorder` in front of the simulator can be compared on what
they really sent (method, path, headers, raw body), while the simulator still checks their
signatures and answers them.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import cast
from urllib.parse import parse_qsl, urlsplit


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


class Recorder:
    """Record requests and forward them to ``upstream`` (``http://127.0.0.1:PORT/``)."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        host, port = cast(str, target.hostname), cast(int, target.port)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen = Recorded(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with recorder._lock:
                    recorder.requests.append(seen)
                upstream = http.client.HTTPConnection(host, port, timeout=5)
                try:
                    upstream.request(
                        "POST",
                        self.path,
                        body,
                        {"Content-Type": self.headers.get("Content-Type", "")},
                    )
                    answer = upstream.getresponse()
                    status, data = answer.status, answer.read()
                    content_type = answer.getheader("Content-Type", "application/json")
                finally:
                    upstream.close()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the base URL, ``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def take(self) -> list[Recorded]:
        """Return the requests recorded so far and forget them."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
