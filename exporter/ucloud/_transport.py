"""The HTTP side of the client: one POST of a signed form, over a pooled transport.

``httpx-aiohttp`` (aiohttp's HTTP/1.1 client behind httpx's transport interface) costs about
half the CPU per request of httpx's own transport (httpcore), whose pool polls every idle
connection on every request (docs/benchmarks.md, "transport"); it is the default. A request
goes straight to the transport, as an ``httpx.Request`` answered by an ``httpx.Response``:
``httpx.AsyncClient``'s per-request work (mount lookup, auth and redirect flows, cookie jar)
buys nothing for signed, stateless API calls and cost more CPU than the transport itself.

When the environment names a proxy for the gateway's scheme (``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY``, lower case too), requests go through an ``httpx.AsyncClient`` on httpx's own
transport instead, which honours those and ``NO_PROXY``. Certificates are verified alike on
every path: ``httpx.create_ssl_context`` (certifi's bundle, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` from the environment).
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from exporter.ucloud._errors import DecodeError
from exporter.ucloud._text import clean

__all__ = ["TRANSPORTS", "Channel", "proxied"]

KEEPALIVE_SECONDS = 5.0  # httpx's own default keep-alive expiry
TRANSPORTS = ("aiohttp", "httpx")  # the choices of --ucloud.transport, the default first
TIMEOUTS = ("connect", "read", "write", "pool")  # the extension httpx transports read
# The gateway's id of one answer, as both SDKs read it (ucloud-sdk-go ucloud/client.go
# headerKeyRequestUUID, ucloud-sdk-python3 ucloud/core/transport/http.py REQUEST_UUID_HEADER_KEY).
REQUEST_ID_HEADER = "X-UCLOUD-REQUEST-UUID"
MAX_REQUEST_ID_CHARS = 128  # of a header value kept in errors and log lines


def proxied(url: str) -> bool:
    """Return whether the environment names a proxy for ``url``'s scheme (or for all)."""
    found = urllib.request.getproxies()
    scheme = httpx.URL(url).scheme
    return bool(found.get(scheme) or found.get("all"))


class Channel:
    """POST bodies to one URL and read the answers, at most ``cap`` bytes each."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        max_connections: int,
        transport: httpx.AsyncBaseTransport | None = None,
        choice: str = TRANSPORTS[0],
    ) -> None:
        """``transport`` (as given, no proxy applies) overrides ``choice``."""
        if choice not in TRANSPORTS:
            raise ValueError(f"unknown transport {choice!r}; choose from {', '.join(TRANSPORTS)}")
        self._url = httpx.URL(url)
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        self._client: httpx.AsyncClient | None = None
        if transport is None and proxied(url):
            self._client = httpx.AsyncClient(limits=limits, follow_redirects=False)
        elif transport is None:
            transport = (
                _Transport(limits)
                if choice == "aiohttp"
                else httpx.AsyncHTTPTransport(limits=limits)
            )
        self._transport = transport
        # Every header the request carries but Content-Length, as httpx would add them for
        # content= (Host first); requests are built from a stream, without httpx's encoding.
        fixed = httpx.Headers({"Host": self._url.netloc.decode("ascii"), "Accept": "*/*"})
        fixed.update({"Accept-Encoding": "gzip, deflate", **headers})
        self._headers = fixed.raw

    @property
    def kind(self) -> str:
        """Name what carries the requests (for logs and tests)."""
        if self._client is not None:
            return "httpx (proxy from the environment)"
        return type(self._transport).__name__

    async def post(
        self, body: bytes, timeout: float, cap: int
    ) -> tuple[int, bytearray, str | None]:
        """Send ``body``; return the status, the (decoded) answer and the gateway's request id
        (None when it sent none). A body that cannot be read whole raises ``DecodeError``
        carrying that id."""
        request = httpx.Request(
            "POST",
            self._url,
            stream=httpx.ByteStream(body),
            headers=[*self._headers, (b"Content-Length", str(len(body)).encode("ascii"))],
            extensions={"timeout": dict.fromkeys(TIMEOUTS, timeout)},
        )
        request.read()  # the body as bytes: sent with the headers in one write, not streamed
        if self._client is not None:
            response = await self._client.send(request, stream=True)
        else:
            assert self._transport is not None
            response = await self._transport.handle_async_request(request)
        request_id = clean(response.headers.get(REQUEST_ID_HEADER, "")[:MAX_REQUEST_ID_CHARS])
        try:
            answer = bytearray()
            # Without a Content-Encoding the stream's bytes are the answer: read it directly,
            # not through httpx's decoder and chunker (two async generators per chunk more).
            encoded = "content-encoding" in response.headers
            chunks = response.aiter_bytes() if encoded else response.stream
            async for chunk in chunks:  # type: ignore[union-attr]
                if len(answer) + len(chunk) > cap:
                    raise DecodeError(
                        f"response body larger than {cap} bytes (ucloud.max_response_bytes)",
                        request_id=request_id or None,
                    )
                answer += chunk
            return response.status_code, answer, request_id or None
        except httpx.DecodingError as exc:  # a Content-Encoding the body does not follow
            raise DecodeError(f"cannot decode body: {exc}", request_id=request_id or None) from exc
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        if self._client is not None:
            await self._client.aclose()
        elif self._transport is not None:
            await self._transport.aclose()


class _Transport(AiohttpTransport):
    """httpx-aiohttp with aiohttp's own cookie jar off and its errors mapped as httpx's.

    httpx keeps the cookies (as with its own transport). httpx-aiohttp maps any aiohttp
    connection error, a server that hung up included, to ``httpx.ConnectTimeout``, and lets
    the errors of a malformed answer through as aiohttp's: here a timeout stays a timeout and
    everything else becomes an ``httpx.TransportError``.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        """Build the session on first use, on the event loop that uses it."""
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; its body is read through the same error mapping."""
        with _mapped():
            response = await super().handle_async_request(request)
        response.stream = _Stream(response.stream)
        return response


class _Stream(httpx.AsyncByteStream):
    """A response body whose errors are mapped like the request's."""

    def __init__(self, inner: httpx.AsyncByteStream | httpx.SyncByteStream) -> None:
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with _mapped():
            await self._inner.aclose()


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    """Re-raise aiohttp's errors, and httpx-aiohttp's mapping of them, as httpx would."""
    try:
        yield
    except httpx.TimeoutException as exc:
        cause = exc.__cause__
        if isinstance(cause, aiohttp.ClientError) and not isinstance(cause, TimeoutError):
            raise httpx.ReadError(f"{type(cause).__name__}: {cause}") from cause
        raise
    except aiohttp.ClientError as exc:  # not mapped by httpx-aiohttp: a malformed answer
        raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
