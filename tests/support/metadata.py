"""A metadata service on loopback that misbehaves on purpose, counting every request.

``mode``: ``stall`` (holds each request up to ``stall_seconds`` without answering), ``huge``
(answers ``huge_bytes`` of JSON-looking bytes), ``junk`` (answers a body that is not JSON),
``expired`` (answers a well-formed v2 key that expired an hour ago), ``brief`` (a v2 key
that expires 1 s after it is sent, by the whole-second clock), ``notfound`` (404).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import LoopbackServer

MODES = ("stall", "huge", "junk", "expired", "brief", "notfound")
#: Temporary-key material the hostile service hands out (for leak checks).
HOSTILE_SECRET = "hostile-temporary-secret-5f1e"
HOSTILE_TOKEN = "hostile-security-token-9a7c"


class HostileMetadata(LoopbackServer):
    """Serve ``mode`` on 127.0.0.1 from a daemon thread; ``url`` and ``calls`` for tests.

    It answers POST as it answers GET: a gateway that misbehaves the same way.
    """

    def __init__(self, mode: str, *, stall_seconds: float = 30.0, huge_bytes: int = 10 << 20):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        super().__init__()
        self.mode, self.stall_seconds, self.huge_bytes = mode, stall_seconds, huge_bytes
        self.calls = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        """Return ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        """Count the request, then answer it as the mode says."""
        with self._lock:
            self.calls += 1
        self.serve(h)

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        """Answer one request as the mode says."""
        if self.mode == "stall":
            self._stop.wait(self.stall_seconds)
            return
        if self.mode == "notfound":
            self._send(h, 404, b"not found")
            return
        if self.mode == "huge":
            h.send_response(200)
            h.send_header("Content-Length", str(self.huge_bytes))
            h.end_headers()
            chunk = b'{"RetCode": 0, "Data": "' + b"x" * 65536
            sent = 0
            with contextlib.suppress(OSError):
                while sent < self.huge_bytes and not self._stop.is_set():
                    part = chunk[: self.huge_bytes - sent]
                    h.wfile.write(part)
                    sent += len(part)
            return
        if self.mode == "junk":
            self._send(h, 200, b'{"RetCode": 0, "Data": {"AccessKeyId": [}}\x00\xff')
            return
        when = time.time() + (1 if self.mode == "brief" else -3600)
        past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        body = {
            "RetCode": 0,
            "Data": {
                "AccessKeyId": "hostile-access-key",
                "AccessKeySecret": HOSTILE_SECRET,
                "SecurityToken": HOSTILE_TOKEN,
                "Expiration": past,
            },
        }
        self._send(h, 200, json.dumps(body).encode())

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(body)

    def stop(self) -> None:
        """Release stalled requests, then stop serving."""
        self._stop.set()
        super().stop()


@contextlib.contextmanager
def hostile(mode: str, **kw: Any) -> Iterator[HostileMetadata]:
    """Serve a HostileMetadata for the block."""
    with HostileMetadata(mode, **kw) as served:
        yield served
