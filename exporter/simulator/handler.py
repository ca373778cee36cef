"""HTTP plumbing of the simulator: parse requests into parameters, write replies."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl, urlsplit

from exporter.simulator.gateway import Response, error
from exporter.simulator.signing import flatten_params

__all__ = ["REQUEST_UUID_HEADER", "Backend", "GatewayServer", "Reply", "json_reply"]

logger = logging.getLogger("exporter.simulator")
#: The header naming each answer, as UCloud's gateway sends it and its SDKs read it.
REQUEST_UUID_HEADER = "X-UCLOUD-REQUEST-UUID"

_MAX_BODY = 1 << 20
_QUERY = re.compile(r"\?[^\s\"']*")


class Backend(Protocol):
    """What the HTTP layer needs from the simulator."""

    def answer(self, params: dict[str, str]) -> Reply:
        """Answer one parsed request."""

    def metadata(self, path: str, headers: dict[str, str]) -> Reply:
        """Answer a request to the instance metadata service (``/meta-data/...``)."""

    def tracking(self) -> contextlib.AbstractContextManager[None]:
        """Mark a request as in flight for the duration of the block."""

    def opened(self, conn: socket.socket) -> None:
        """Note a new connection."""

    def closed(self, conn: socket.socket) -> None:
        """Note a finished connection."""


@dataclass
class Reply:
    """What to send back for one request."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    drop: bool = False  # close the connection without any response


def json_reply(response: Response, *, status: int = 200) -> Reply:
    """Encode a JSON response; lone surrogates go as ``\\ud800`` escapes, as JSON allows."""
    try:
        return Reply(status, json.dumps(response, ensure_ascii=False).encode("utf-8"))
    except UnicodeEncodeError:
        return Reply(status, json.dumps(response).encode("ascii"))


def _redact(message: str) -> str:
    """Strip query strings (they carry the Signature) from a log message."""
    return _QUERY.sub("?<redacted>", message)


class GatewayServer(ThreadingHTTPServer):
    """Threading HTTP server that knows its simulator and never blocks on idle connections."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # a client opening many connections at once is not refused

    def __init__(self, address: tuple[str, int], sim: Backend) -> None:
        """Bind ``address`` (IPv4 or IPv6) for ``sim``."""
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sim = sim
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log broken connections quietly instead of printing tracebacks."""
        logger.debug("error serving a request", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Parse one HTTP request into gateway parameters and write the reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two sends: no delayed-ACK stall
    server_version = "UCloudSimulator/0.1"
    timeout = 120.0  # idle keep-alive connections are closed after this

    @property
    def sim(self) -> Backend:
        """Return the simulator serving this request."""
        return cast(GatewayServer, self.server).sim

    def setup(self) -> None:
        """Register the connection so stop() can close it."""
        super().setup()
        self.sim.opened(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.sim.closed(self.connection)

    def do_GET(self) -> None:
        """Answer a request carried in the query string."""
        self._serve()

    def do_POST(self) -> None:
        """Answer a request carried in a form or JSON body (plus any query string)."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Log through ``exporter.simulator`` at DEBUG, without query strings."""
        logger.debug("%s %s", self.address_string(), _redact(format % args))

    def _serve(self) -> None:
        """Parse, answer and send one request."""
        path = urlsplit(self.path).path
        if path.startswith("/meta-data/"):
            with self.sim.tracking():
                self._send(self.sim.metadata(path, dict(self.headers.items())))
            return
        parsed = self._params()
        if isinstance(parsed, Reply):
            self._send(parsed)
            return
        with self.sim.tracking():
            self._send(self.sim.answer(parsed))

    def _params(self) -> dict[str, str] | Reply:
        """Collect parameters from the query string and the body."""
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if self.command != "POST":
            return params
        body = self._body()
        if isinstance(body, Reply):
            return body
        if self.headers.get_content_type() == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return json_reply(error("", 230, "invalid JSON request body"))
            params.update(flatten_params(data))
        else:
            text = body.decode("utf-8", errors="replace")
            params.update(parse_qsl(text, keep_blank_values=True))
        return params

    def _body(self) -> bytes | Reply:
        """Read the request body announced by Content-Length."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._fail(HTTPStatus.LENGTH_REQUIRED)
        raw = self.headers.get("Content-Length", "0").strip() or "0"
        if not raw.isdigit():
            return self._fail(HTTPStatus.BAD_REQUEST)
        if int(raw) > _MAX_BODY:
            return self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return self.rfile.read(int(raw))

    def _fail(self, status: HTTPStatus) -> Reply:
        """Give up on a request whose body cannot be read; the connection will close."""
        self.close_connection = True
        return Reply(status, f"{status.value} {status.phrase}\n".encode(), "text/plain")

    def _send(self, reply: Reply) -> None:
        """Write ``reply``, always with a Content-Length and a new request UUID, or drop the
        connection."""
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header(REQUEST_UUID_HEADER, str(uuid.uuid4()))  # a fresh one on every answer
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)
