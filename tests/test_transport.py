"""The client's real transports over loopback sockets: TLS, proxies, errors, cap, cancellation.

Each test runs with both ``--ucloud.transport`` choices (httpx-aiohttp, the default, and
httpx's own) against servers on 127.0.0.1 that the test starts and stops itself.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.config import UCloudSettings
from exporter.ucloud import (
    TRANSPORTS,
    USER_AGENT,
    DecodeError,
    Listing,
    TransportError,
    UCloudClient,
    UCloudError,
    list_image_buckets,
    sign,
)
from tests.support.inprocess import ACCOUNT
from tests.support.pki import make_bare_pki, make_pki

PAGE = {
    "RetCode": 0,
    "TotalCount": 2,
    "ImageSet": [
        {"BucketName": f"b{i}", "BucketType": "Private", "ImageCount": i, "CreateTime": 1}
        for i in range(2)
    ],
}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class Gateway(BaseHTTPRequestHandler):
    """Answer every POST with ``PAGE`` (or hang up, or stall, as the server says)."""

    protocol_version = "HTTP/1.1"
    requests: ClassVar[list[tuple[str, str, str, bytes]]] = []  # path, UA, type, body
    hosts: ClassVar[list[list[str]]] = []  # the Host headers of each request

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seen = (self.path, self.headers["User-Agent"], self.headers["Content-Type"], body)
        type(self).requests.append(seen)
        type(self).hosts.append(self.headers.get_all("Host", []))
        mode = getattr(self.server, "mode", "answer")
        if mode == "hang_up":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "stall":
            time.sleep(2)
        body = json.dumps(PAGE).encode()
        if mode == "gzip":
            body = gzip.compress(body)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if mode == "gzip":
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (cancelled or cut at the cap)
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        """Stay quiet."""


class Proxy(BaseHTTPRequestHandler):
    """A forward proxy for plain HTTP: relay the absolute-form request, count it."""

    protocol_version = "HTTP/1.1"
    relayed: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).relayed.append(self.path)
        answer = httpx.post(self.path, content=body, timeout=5, trust_env=False)
        self.send_response(answer.status_code)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: Any) -> None:
        """Stay quiet."""


def serve(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Any:
    """Start a threaded server on 127.0.0.1 in a daemon thread; return it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return server


@pytest.fixture
def gateway() -> Iterator[Any]:
    Gateway.requests = []
    Gateway.hosts = []
    server = serve(Gateway)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def url_of(server: Any, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}/"


def list_once(url: str, http: str, *, budget: float = 10.0, **options: Any) -> Listing:
    """List ACCOUNT's region "r" once on a new client with transport ``http``."""
    settings = UCloudSettings(**{"base_url": url, "retries": 0, "timeout_seconds": 5, **options})

    async def go() -> Listing:
        client = UCloudClient(settings, http=http)
        try:
            return await list_image_buckets(
                client, ACCOUNT, "r", deadline=time.monotonic() + budget, observe=lambda *_: None
            )
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_plain_listing_sends_a_signed_form(gateway: Any, http: str) -> None:
    assert [b.name for b in list_once(url_of(gateway), http).buckets] == ["b0", "b1"]
    ((path, agent, kind, body),) = Gateway.requests
    assert (path, agent, kind) == ("/", USER_AGENT, "application/x-www-form-urlencoded")
    assert Gateway.hosts == [[url_of(gateway).split("/")[2]]]  # one Host, the gateway's
    form = dict(parse_qsl(body.decode()))
    assert form["PublicKey"] == "pub" and form["Offset"] == "0" and form["Region"] == "r"
    assert form["Signature"] == sign({k: v for k, v in form.items() if k != "Signature"}, "priv")


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_gzip_answer_is_decoded_and_capped_after_decoding(gateway: Any, http: str) -> None:
    # A plain answer is read straight from the stream, an encoded one through the decoder;
    # the cap counts decoded bytes either way: a cap the compressed body fits under fails.
    gateway.mode = "gzip"
    plain = json.dumps(PAGE).encode()
    assert len(gzip.compress(plain)) < len(plain) - 1
    listing = list_once(url_of(gateway), http, max_response_bytes=len(plain))
    assert [b.name for b in listing.buckets] == ["b0", "b1"]
    with pytest.raises(UCloudError) as caught:
        list_once(url_of(gateway), http, max_response_bytes=len(plain) - 1)
    assert caught.value.reason == "decode" and "max_response_bytes" in str(caught.value)


@pytest.mark.parametrize("http", TRANSPORTS)
def test_tls_to_the_gateway_trusts_the_ca_from_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http: str
) -> None:
    pki = make_pki(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki / "server.crt", pki / "server.key")
    server = serve(Gateway, tls)
    try:
        with pytest.raises(TransportError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            list_once(url_of(server, "https"), http)  # the test CA is not trusted by default
        monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.crt"))
        assert len(list_once(url_of(server, "https"), http).buckets) == 2
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_chain_without_key_identifiers_is_refused_from_python_3_13(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http: str
) -> None:
    # The client verifies with Python's default context (httpx.create_ssl_context), which
    # sets VERIFY_X509_STRICT from 3.13 on: a chain without key identifiers is then refused,
    # as one transport error naming the cause (the one-line message of the "target listing
    # failed" log line, reason="transport"). The exporter does not set the flag itself, so
    # 3.11 and 3.12 accept the same chain.
    pki = make_bare_pki(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki / "server.crt", pki / "server.key")
    server = serve(Gateway, tls)
    monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.crt"))
    try:
        if sys.version_info < (3, 13):
            assert len(list_once(url_of(server, "https"), http).buckets) == 2
            return
        with pytest.raises(UCloudError) as caught:
            list_once(url_of(server, "https"), http)
        error = caught.value
        assert type(error) is TransportError and error.log_fields() == {"reason": "transport"}
        assert "\n" not in str(error), str(error)
        assert "CERTIFICATE_VERIFY_FAILED" in str(error), str(error)
        assert "Missing Authority Key Identifier" in str(error), str(error)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_proxy_from_the_environment_carries_the_requests(
    gateway: Any, monkeypatch: pytest.MonkeyPatch, http: str
) -> None:
    Proxy.relayed = []
    proxy = serve(Proxy)
    try:
        monkeypatch.setenv("HTTP_PROXY", url_of(proxy))
        assert len(list_once(url_of(gateway), http).buckets) == 2
        assert Proxy.relayed == [url_of(gateway)]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert len(list_once(url_of(gateway), http).buckets) == 2
        assert len(Proxy.relayed) == 1  # NO_PROXY honoured
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_server_that_hangs_up_is_a_transport_error_not_a_timeout(gateway: Any, http: str) -> None:
    gateway.mode = "hang_up"
    with pytest.raises(UCloudError) as caught:
        list_once(url_of(gateway), http)
    assert caught.value.reason == "transport", caught.value


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_stalled_answer_times_out(gateway: Any, http: str) -> None:
    gateway.mode = "stall"
    started = time.monotonic()
    with pytest.raises(UCloudError) as caught:
        list_once(url_of(gateway), http, timeout_seconds=0.3)
    assert caught.value.reason == "timeout", caught.value
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("http", TRANSPORTS)
def test_the_body_cap_holds_on_the_wire(gateway: Any, http: str) -> None:
    with pytest.raises(DecodeError, match=r"ucloud\.max_response_bytes"):
        list_once(url_of(gateway), http, max_response_bytes=64)


@pytest.mark.parametrize("http", TRANSPORTS)
def test_a_cancelled_request_leaves_the_client_usable(gateway: Any, http: str) -> None:
    settings = UCloudSettings(base_url=url_of(gateway), retries=0, timeout_seconds=5)

    async def go() -> int:
        client = UCloudClient(settings, http=http)
        try:
            gateway.mode = "stall"
            task = asyncio.ensure_future(
                list_image_buckets(
                    client, ACCOUNT, "r", deadline=time.monotonic() + 10, observe=lambda *_: None
                )
            )
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            gateway.mode = "answer"
            again = await list_image_buckets(
                client, ACCOUNT, "r", deadline=time.monotonic() + 10, observe=lambda *_: None
            )
            return len(again.buckets)
        finally:
            await client.aclose()

    started = time.monotonic()
    assert asyncio.run(go()) == 2
    assert time.monotonic() - started < 1.8  # the stalled answer was not waited for
