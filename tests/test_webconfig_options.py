"""The exporter-toolkit options beyond the replayed tables, and hostile uses of each:
a rate-limit flood, huge and broken inline PEM, a reload storm with inline keys, headers,
client_allowed_sans, client authentication never weakened, and no secret in any message."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from exporter.config import ConfigError
from exporter.web import webconfig
from exporter.web.gate import TokenBucket
from exporter.web.server import peer_allowed
from exporter.web.webconfig import RateLimit, canonical_san, go_duration
from tests.support.pki import client, issue, rel, tls_config, web_dir
from tests.support.webserve import running, running_security

# A real uvicorn server on loopback with real TLS clients (tests/support/e2e.py).
pytestmark = pytest.mark.e2e


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = web_dir(tmp_path) / "web.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def problems(data: Any, base: Path) -> str:
    with pytest.raises(ConfigError) as info:
        webconfig.parse(data, source="web.yml", base_dir=base)
    return "\n".join(info.value.problems)


def test_rate_limit_flood_is_bounded(tmp_path: Path) -> None:
    """200 requests at once against burst 5 (one more per hour): exactly 5 pass, the rest
    read 429 at once; a reload with new settings starts a new bucket."""
    web = write(tmp_path, {"rate_limit": {"interval": "1h", "burst": 5}})
    with running(web) as (port, live):
        statuses: list[int] = []
        start = threading.Barrier(50)

        def flood() -> None:
            with httpx.Client(timeout=10) as c:
                start.wait(10)
                for _ in range(4):
                    statuses.append(c.get(f"http://127.0.0.1:{port}/").status_code)

        threads = [threading.Thread(target=flood) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(statuses) == [200] * 5 + [429] * 195
        refused = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert refused.status_code == 429 and refused.text == "Too Many Requests\n"
        web.write_text(yaml.safe_dump({"rate_limit": {"interval": "1h", "burst": 2}}))
        assert live.reload()
        got = [httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code for _ in range(3)]
        assert got == [200, 200, 429]


def test_token_bucket_refills_as_go_rate_limiter() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(interval=2.0, burst=2), clock=lambda: now[0])
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    now[0] = 1.9
    assert not bucket.allow()
    now[0] = 2.0
    assert bucket.allow() and not bucket.allow()
    now[0] = 1000.0  # refills up to burst, never beyond
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    empty = TokenBucket(RateLimit(interval=1.0, burst=0), clock=lambda: now[0])
    now[0] = 10**6
    assert not empty.allow()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("1m30s", 90.0), ("250ms", 0.25), ("1.5h", 5400.0), ("0", 0.0), (0, 0.0)],
)
def test_go_durations(text: Any, seconds: float) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1", "s", "1 s", "1x", "", True, [1], "1s2"])
def test_bad_go_durations(text: Any) -> None:
    assert go_duration(text) is None or text == "1"  # "1" alone: no unit (Go refuses)
    if isinstance(text, str) and text:
        found = problems({"rate_limit": {"interval": text}}, Path("."))
        assert "rate_limit.interval: must be a duration" in found


def test_a_huge_inline_pem_is_refused_without_echo(tmp_path: Path, pki: Path) -> None:
    key = (pki / "server.key").read_text()
    huge = key + "A" * (70 * 1024)
    web = write(tmp_path, {"tls_server_config": {"cert": "x", "key": huge}})
    with pytest.raises(ConfigError) as info:
        webconfig.load(web)
    text = "\n".join(info.value.problems)
    assert "larger than 64 KiB" in text and "AAAA" not in text and key[40:80] not in text


def test_a_broken_inline_key_is_never_echoed(tmp_path: Path, pki: Path) -> None:
    cert = (pki / "server.crt").read_text()
    other = (pki / "client.key").read_text()  # a real key, but not the certificate's
    found = problems({"tls_server_config": {"cert": cert, "key": other}}, tmp_path)
    assert "inline cert and inline key do not form a valid pair" in found
    assert other[30:90] not in found and "PRIVATE" not in found
    garbage = (
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n"
    )
    found = problems({"tls_server_config": {"cert": cert, "key": garbage}}, tmp_path)
    assert "do not form a valid pair" in found and "c2VjcmV0" not in found
    encrypted = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"hunter2"),
        )
        .decode()
    )
    found = problems({"tls_server_config": {"cert": cert, "key": encrypted}}, tmp_path)
    assert "encrypted private keys are not supported" in found
    assert encrypted.splitlines()[1] not in found
    found = problems({"tls_server_config": {"cert": cert, "key": "hunter2"}}, tmp_path)
    assert "tls_server_config.key: no PEM private key in it" in found and "hunter2" not in found


def test_inline_client_ca_and_file_precedence(tmp_path: Path, pki: Path) -> None:
    """client_ca inline verifies clients; a file set too wins, with a warning (as upstream)."""
    sec = webconfig.parse(
        {
            "tls_server_config": {
                "cert": (pki / "server.crt").read_text(),
                "key": (pki / "server.key").read_text(),
                "client_ca": (pki / "ca.crt").read_text(),
                "client_auth_type": "RequireAndVerifyClientCert",
            }
        },
        base_dir=tmp_path,
    )
    with running_security(sec) as port:
        with client(pki, "client") as c:
            assert c.get(f"https://127.0.0.1:{port}/").status_code == 200
        with client(pki, "stranger") as c, pytest.raises(httpx.TransportError):
            c.get(f"https://127.0.0.1:{port}/")
    both = webconfig.parse(
        {"tls_server_config": {**tls_config(pki), "key": "ignored"}}, base_dir=web_dir(tmp_path)
    )
    assert any("tls_server_config.key: ignored, key_file is set" in w for w in both.warnings)


def _serial(port: int, ca: Path) -> int:
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return int(tls.getpeercert()["serialNumber"], 16)  # type: ignore[index,arg-type]


def test_reload_storm_with_inline_keys(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The file flips between two inline certificate/key pairs 40 times while clients connect:
    every handshake gets one of the two certificates whole, and no key reaches the log."""
    d = tmp_path / "pki"
    d.mkdir()
    ca = issue(d, "ca", ca=True)
    pairs = []
    for name in ("one", "two"):
        cert, _ = issue(d, name, issuer=ca, server=True)
        text = {"cert": (d / f"{name}.crt").read_text(), "key": (d / f"{name}.key").read_text()}
        pairs.append((cert.serial_number, text))
    web = write(tmp_path, {"tls_server_config": pairs[0][1]})
    serials: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    caplog.set_level(logging.DEBUG)
    with running(web) as (port, live):

        def connect() -> None:
            while not stop.is_set():
                try:
                    serials.append(_serial(port, d / "ca.crt"))
                except OSError as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=connect) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(40):
            web.write_text(yaml.safe_dump({"tls_server_config": pairs[i % 2][1]}))
            assert live.reload()
        web.write_text(yaml.safe_dump({"tls_server_config": {"cert": "broken", "key": "x"}}))
        assert not live.reload()  # refused, the running pair kept
        stop.set()
        for t in threads:
            t.join(30)
        assert _serial(port, d / "ca.crt") == pairs[1][0]
    assert not errors and serials and set(serials) <= {pairs[0][0], pairs[1][0]}
    for _, text in pairs:
        assert text["key"].splitlines()[1] not in caplog.text


def test_headers_replace_the_apps_and_come_on_401(tmp_path: Path) -> None:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"x-frame-options", b"allow"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    from exporter.web.server import serve
    from exporter.web.watch import LiveWebConfig

    sec = webconfig.parse(
        {
            "http_server_config": {"headers": {"X-Frame-Options": "deny", "X-XSS-Protection": 1}},
            "basic_auth_users": {"alice": "$2y$04$" + "a" * 53},
        }
    )
    server = serve(app, "127.0.0.1:0", LiveWebConfig("", sec))
    try:
        answer = httpx.get(f"http://127.0.0.1:{server.server_port}/", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 401
    assert answer.headers.get_list("x-frame-options") == ["deny"]
    assert answer.headers["x-xss-protection"] == "1"


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"x-frame-options": "deny"}, "can not be configured"),
        ({"Content-Security-Policy": "a\r\nSet-Cookie: x"}, "one line of printable ASCII"),
        ({"Strict-Transport-Security": ["a"]}, "one line of printable ASCII"),
        ({"X-Frame-Options": "DENY"}, "invalid value for X-Frame-Options"),
    ],
)
def test_bad_headers(headers: dict[str, Any], says: str) -> None:
    assert says in problems({"http_server_config": {"headers": headers}}, Path("."))


def test_client_allowed_sans_compare_as_go_prints_them() -> None:
    class Obj:
        def __init__(self, cert: dict[str, Any] | None) -> None:
            self.cert = cert

        def getpeercert(self) -> dict[str, Any] | None:
            return self.cert

    class Transport:
        def __init__(self, cert: dict[str, Any] | None) -> None:
            self.obj = Obj(cert)

        def get_extra_info(self, name: str) -> Any:
            return self.obj if name == "ssl_object" else None

    allowed = frozenset(canonical_san(v) for v in ("::1", "spiffe://x/y", "a@b.c"))
    sans = {"subjectAltName": (("IP Address", "0:0:0:0:0:0:0:1\n"),)}
    assert peer_allowed(Transport(sans), allowed)  # type: ignore[arg-type]
    for kind, value in (("URI", "spiffe://x/y"), ("email", "a@b.c")):
        assert peer_allowed(Transport({"subjectAltName": ((kind, value),)}), allowed)  # type: ignore[arg-type]
    assert not peer_allowed(Transport({"subjectAltName": (("DNS", "x"),)}), allowed)  # type: ignore[arg-type]
    assert not peer_allowed(Transport(None), allowed)  # type: ignore[arg-type]
    assert not peer_allowed(Transport({"subject": ()}), frozenset())  # type: ignore[arg-type]
    assert peer_allowed(Transport(None), None)  # type: ignore[arg-type]


def test_client_allowed_sans_refuse_a_client_without_them(tmp_path: Path, pki: Path) -> None:
    """Our client certificate has no SANs: 403 and closed, whatever the request."""
    web = write(
        tmp_path,
        {
            "tls_server_config": tls_config(
                pki,
                client_auth_type="VerifyClientCertIfGiven",
                client_ca_file=rel(pki, "ca.crt"),
                client_allowed_sans=["127.0.0.1"],
            )
        },
    )
    with running(web) as (port, _live), client(pki, "client") as c:
        answer = c.get(f"https://127.0.0.1:{port}/")
        assert answer.status_code == 403 and answer.text == "Forbidden\n"
    with running(web) as (port, _live), client(pki) as c:  # no certificate at all
        assert c.get(f"https://127.0.0.1:{port}/").status_code == 403
    ignored = webconfig.load(
        write(tmp_path, {"tls_server_config": tls_config(pki, client_allowed_sans=["x"])})
    )
    assert ignored.tls is not None and ignored.tls.allowed_sans is None
    assert any("client_allowed_sans: not applied" in w for w in ignored.warnings)


def test_client_authentication_is_never_weakened(tmp_path: Path, pki: Path) -> None:
    """VerifyClientCertIfGiven without a CA verifies a sent certificate against the system
    CAs (a self-signed one fails); RequireAnyClientCert needs a CA and then verifies."""
    web = write(
        tmp_path, {"tls_server_config": tls_config(pki, client_auth_type="VerifyClientCertIfGiven")}
    )
    sec = webconfig.load(web)
    assert any("verified against the system CAs" in w for w in sec.warnings)
    with running(web) as (port, _live):
        with client(pki) as c:
            assert c.get(f"https://127.0.0.1:{port}/").status_code == 200
        with client(pki, "selfsigned") as c, pytest.raises(httpx.TransportError):
            c.get(f"https://127.0.0.1:{port}/")
    for auth in ("RequireAnyClientCert", "RequireClientCert"):
        found = problems(
            {"tls_server_config": tls_config(pki, client_auth_type=auth)}, web_dir(tmp_path)
        )
        assert f"tls_server_config.client_auth_type: {auth} without client_ca_file" in found
    web = write(
        tmp_path,
        {
            "tls_server_config": tls_config(
                pki, client_auth_type="RequireAnyClientCert", client_ca_file=rel(pki, "ca.crt")
            )
        },
    )
    assert any("exporter-toolkit does not do" in w for w in webconfig.load(web).warnings)
    with running(web) as (port, _live):
        with client(pki, "client") as c:
            assert c.get(f"https://127.0.0.1:{port}/").status_code == 200
        with client(pki, "stranger") as c, pytest.raises(httpx.TransportError):
            c.get(f"https://127.0.0.1:{port}/")


def test_tls_settings_without_a_certificate_serve_plain_http_with_a_warning() -> None:
    sec = webconfig.parse({"tls_server_config": {"min_version": "TLS13", "max_version": "TLS13"}})
    assert sec.tls is None
    (warning,) = sec.warnings
    assert "TLS is off and min_version, max_version not applied; serving plain HTTP" in warning
    assert "unknown TLS version" in problems(
        {"tls_server_config": {"min_version": "TLS14"}}, Path(".")
    )


def test_cipher_and_curve_warnings(tmp_path: Path, pki: Path) -> None:
    base = web_dir(tmp_path)
    sec = webconfig.parse(
        {
            "tls_server_config": tls_config(
                pki,
                cipher_suites=["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
                curve_preferences=["X25519", "CurveP256"],
                min_version="TLS10",
            )
        },
        base_dir=base,
    )
    text = "\n".join(sec.warnings)
    assert (
        "TLS 1.3 suites are not applied (not selectable, as in Go): TLS_AES_128_GCM_SHA256" in text
    )
    assert "only X25519 is applied (Python's ssl sets one curve); not applied: CurveP256" in text
    assert "min_version: TLS10 is raised to TLS12" in text
    assert sec.tls is not None
    names = {c["name"] for c in sec.tls.context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert names == {"ECDHE-ECDSA-AES128-GCM-SHA256"}
    only13 = webconfig.parse(
        {
            "tls_server_config": tls_config(pki, cipher_suites=["TLS_AES_256_GCM_SHA384"]),
            "http_server_config": {"http2": False},
        },
        base_dir=base,
    )
    assert only13.tls is not None
    assert only13.tls.context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert "lists only TLS 1.3 suites, but max_version is TLS12" in problems(
        {
            "tls_server_config": tls_config(
                pki, cipher_suites=["TLS_AES_256_GCM_SHA384"], max_version="TLS12"
            ),
            "http_server_config": {"http2": False},
        },
        base,
    )
    noprefer = webconfig.parse(
        {"tls_server_config": tls_config(pki, prefer_server_cipher_suites=False)}, base_dir=base
    )
    assert noprefer.tls is not None
    assert not noprefer.tls.context.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_reloaded_cipher_suites_apply_to_the_next_connection(tmp_path: Path, pki: Path) -> None:
    def tls(cipher: str) -> dict[str, Any]:
        return {
            "tls_server_config": tls_config(pki, cipher_suites=[cipher], max_version="TLS12"),
            "http_server_config": {"http2": False},
        }

    def used(port: int) -> str:
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s,
        ):
            return (s.cipher() or ("",))[0]

    web = write(tmp_path, tls("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"))
    with running(web) as (port, live):
        assert used(port) == "ECDHE-ECDSA-AES128-GCM-SHA256"
        web.write_text(yaml.safe_dump(tls("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")))
        assert live.reload()
        assert used(port) == "ECDHE-ECDSA-AES256-GCM-SHA384"


@pytest.mark.parametrize(
    ("auth", "mode", "warns"),
    [
        ("RequestClientCert", ssl.CERT_OPTIONAL, "exporter-toolkit does not do"),
        ("VerifyClientCertIfGiven", ssl.CERT_OPTIONAL, "as exporter-toolkit does"),
        ("RequireAndVerifyClientCert", ssl.CERT_REQUIRED, "as exporter-toolkit does"),
        ("NoClientCert", ssl.CERT_NONE, ""),
        ("", ssl.CERT_NONE, ""),
    ],
)
def test_client_auth_modes(
    auth: str, mode: ssl.VerifyMode, warns: str, tmp_path: Path, pki: Path
) -> None:
    sec = webconfig.parse(
        {"tls_server_config": tls_config(pki, client_auth_type=auth)}, base_dir=web_dir(tmp_path)
    )
    assert sec.tls is not None and sec.tls.context.verify_mode == mode
    assert (warns in "\n".join(sec.warnings)) if warns else not sec.warnings
