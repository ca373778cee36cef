"""exporter-toolkit's own web-config tests, replayed against this exporter's HTTP server.

The tables of ``web/tls_config_test.go`` (TestYAMLFiles, TestServerBehaviour,
TestConfigReloading, TestUsers, TestTLSConfigIsEnabled) and ``web/handler_test.go`` are ported
row by row, with their testdata (tests/testdata/exporter_toolkit, Apache-2.0). Each row starts
the real server (exporter.web.server) on 127.0.0.1 with the row's file and talks to it with a
real TLS client, as the Go test does, answering "Hello World!".

A row's ``verdict`` says how it compares with upstream; every row runs:

* ``pass``: the same accept/refuse decision and the same answer;
* ``pass-unsupported``: the same outcome, but part of the option is not applied here (a
  warning names it; see the README's table);
* ``stricter``: deliberately refused here where upstream starts, with the reason.

``test_tally`` prints the counts.
"""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from exporter.config import ConfigError
from exporter.web import webconfig
from tests.support.realparts import poll
from tests.support.webserve import HELLO, running

# A real uvicorn server on loopback with real TLS clients (tests/support/e2e.py).
pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "testdata" / "exporter_toolkit"
TLS11 = ssl.TLSVersion.TLSv1_1
# Go's cipher and curve constants used by the client side of the rows, in OpenSSL's names.
RSA_AES128_GCM = "ECDHE-RSA-AES128-GCM-SHA256"
RSA_AES256_GCM = "ECDHE-RSA-AES256-GCM-SHA384"
RSA_AES256_CBC = "ECDHE-RSA-AES256-SHA"


@dataclass(frozen=True)
class Row:
    """One upstream test case: the file, the client, and what must happen.

    ``expect``: "ok" (every answer is Hello World), "refused" (the file is refused at start,
    the problem containing ``says``), "error" (the connection fails or the answer is not
    Hello World), "denied" (a TLS failure or 403) or an HTTP status.
    """

    name: str
    config: str | None  # a file under DATA; None: no --web.config.file
    expect: str | int
    says: str = ""
    verdict: str = "pass"
    why: str = ""  # for pass-unsupported and stricter rows
    tls: bool = False
    max_version: ssl.TLSVersion | None = None
    ciphers: tuple[str, ...] = ()
    cipher_used: str = ""
    curve: str = ""
    cert: str = ""
    auth: tuple[str, str] | None = None
    requests: int = 0  # extra requests after the first, as the Go table's Requests
    headers: dict[str, str] = field(default_factory=dict)


_NOT_APPLIED_CURVES = "only the first curve is applied here (warning names the rest)"
_TLS13_CIPHERS = "TLS 1.3 suites are not selectable (ignored by Go too); a warning names them"
_ANY_CERT = (
    "RequireAnyClientCert without a client CA: Python's ssl cannot ask for a certificate "
    "without verifying it, so the exporter refuses to start, naming the option"
)

YAML_FILES = [
    Row("path to config yml invalid", "somefile", "refused", "cannot read"),
    Row("empty config yml", "web_config_empty.yml", "ok"),
    Row("invalid config yml (invalid structure)", "web_config_junk.yml", "refused", "mapping"),
    Row("invalid config yml (invalid key)", "web_config_junk_key.yml", "refused", "unknown key"),
    Row(
        "invalid config yml (cert path empty)",
        "web_config_noAuth_certPath_empty.bad.yml",
        "refused",
        "missing one of cert or cert_file",
    ),
    Row(
        "invalid config yml (cert empty)",
        "web_config_noAuth_cert_empty.bad.yml",
        "refused",
        "missing one of cert or cert_file",
    ),
    Row(
        "invalid config yml (key path empty)",
        "web_config_noAuth_keyPath_empty.bad.yml",
        "refused",
        "missing one of key or key_file",
    ),
    Row(
        "invalid config yml (key empty)",
        "web_config_noAuth_key_empty.bad.yml",
        "refused",
        "missing one of key or key_file",
    ),
    Row(
        "invalid config yml (cert path and key path empty)",
        "web_config_noAuth_certPath_keyPath_empty.bad.yml",
        "refused",
        "missing one of cert or cert_file",
    ),
    Row(
        "invalid config yml (cert path invalid)",
        "web_config_noAuth_certPath_invalid.bad.yml",
        "refused",
        "No such file",
    ),
    Row(
        "invalid config yml (key path invalid)",
        "web_config_noAuth_keyPath_invalid.bad.yml",
        "refused",
        "No such file",
    ),
    Row(
        "invalid config yml (cert path and key path invalid)",
        "web_config_noAuth_certPath_keyPath_invalid.bad.yml",
        "refused",
        "No such file",
    ),
    Row(
        "invalid config yml (invalid ClientAuth)",
        "web_config_noAuth.bad.yml",
        "refused",
        "client CA's have been configured without a Client Auth Policy",
    ),
    Row(
        "invalid config yml (invalid ClientCAs filepath)",
        "web_config_auth_clientCAs_invalid.bad.yml",
        "refused",
        "No such file",
    ),
    Row(
        "invalid config yml (invalid user list)",
        "web_config_auth_user_list_invalid.bad.yml",
        "refused",
        "must be a bcrypt hash",
    ),
    Row(
        "invalid config yml (bad cipher)",
        "web_config_noAuth_inventedCiphers.bad.yml",
        "refused",
        "unknown cipher",
    ),
    Row(
        "invalid config yml (bad curves)",
        "web_config_noAuth_inventedCurves.bad.yml",
        "refused",
        "unknown curve",
    ),
    Row(
        "invalid config yml (bad TLS version)",
        "web_config_noAuth_wrongTLSVersion.bad.yml",
        "refused",
        "unknown TLS version",
    ),
]

SERVER_BEHAVIOUR = [
    Row("empty string YAMLConfigPath and default client", None, "ok"),
    Row("empty string YAMLConfigPath and TLS client", None, "error", tls=True),
    Row("valid tls config yml and default client", "web_config_noAuth.good.yml", "error"),
    Row("valid tls config yml and tls client", "web_config_noAuth.good.yml", "ok", tls=True),
    Row(
        "valid tls config yml (cert and key inline) and tls client",
        "web_config_noAuth_tlsInline.good.yml",
        "ok",
        tls=True,
    ),
    Row(
        "valid tls config yml with TLS 1.1 client",
        "web_config_noAuth.good.yml",
        "error",
        tls=True,
        max_version=TLS11,
    ),
    Row(
        "valid tls config yml with all ciphers",
        "web_config_noAuth_allCiphers.good.yml",
        "ok",
        verdict="pass-unsupported",
        why=_TLS13_CIPHERS,
        tls=True,
    ),
    Row(
        "valid tls config yml with some ciphers",
        "web_config_noAuth_someCiphers.good.yml",
        "ok",
        tls=True,
        ciphers=(RSA_AES128_GCM,),
    ),
    Row(
        "valid tls config yml with no common cipher",
        "web_config_noAuth_someCiphers.good.yml",
        "error",
        tls=True,
        ciphers=(RSA_AES256_CBC,),
    ),
    Row(
        "valid tls config yml with multiple client ciphers",
        "web_config_noAuth_someCiphers.good.yml",
        "ok",
        tls=True,
        ciphers=(RSA_AES128_GCM, RSA_AES256_GCM),
        cipher_used=RSA_AES128_GCM,
    ),
    Row(
        "valid tls config yml with multiple client ciphers, client chooses cipher",
        "web_config_noAuth_someCiphers_noOrder.good.yml",
        "ok",
        tls=True,
        ciphers=(RSA_AES128_GCM, RSA_AES256_GCM),
        cipher_used=RSA_AES128_GCM,
    ),
    Row(
        "valid tls config yml with all curves",
        "web_config_noAuth_allCurves.good.yml",
        "ok",
        verdict="pass-unsupported",
        why=_NOT_APPLIED_CURVES,
        tls=True,
    ),
    Row(
        "valid tls config yml with some curves",
        "web_config_noAuth_someCurves.good.yml",
        "ok",
        tls=True,
        curve="secp521r1",
    ),
    Row(
        "valid tls config yml with no common curves",
        "web_config_noAuth_someCurves.good.yml",
        "error",
        tls=True,
        curve="secp384r1",
    ),
    Row(
        "valid tls config yml with non-http2 ciphers",
        "web_config_noAuth_noHTTP2.good.yml",
        "ok",
        tls=True,
        ciphers=(RSA_AES256_GCM,),
    ),
    Row(
        "valid tls config yml with non-http2 ciphers but http2 enabled",
        "web_config_noAuth_noHTTP2Cipher.bad.yml",
        "refused",
        "HTTP/2 needs",
    ),
    Row(
        "valid headers config",
        "web_config_headers.good.yml",
        "ok",
        headers={
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
            "X-Frame-Options": "deny",
            "X-Content-Type-Options": "nosniff",
            "X-XSS-Protection": "1",
            "Content-Security-Policy": "default-src 'self' *.test.example.net",
        },
    ),
    Row(
        "invalid X-Content-Type-Options headers config",
        "web_config_headers_content_type_options.bad.yml",
        "refused",
        "invalid value for",
    ),
    Row(
        "invalid X-Frame-Options headers config",
        "web_config_headers_frame_options.bad.yml",
        "refused",
        "invalid value for",
    ),
    Row(
        "HTTP header that can not be overridden",
        "web_config_headers_extra_header.bad.yml",
        "refused",
        "can not be configured",
    ),
    Row(
        "valid tls config yml and tls client with RequireAnyClientCert (present certificate)",
        "tls_config_noAuth.requireanyclientcert.good.yml",
        "refused",
        "RequireAnyClientCert without client_ca_file or client_ca cannot be honoured",
        verdict="stricter",
        why=_ANY_CERT,
        tls=True,
        cert="client_selfsigned",
    ),
    Row(
        # upstream's table names the key-inline file but loads the one above; this loads it
        "valid tls config yml (cert from file, key inline) and tls client with "
        "RequireAnyClientCert (present certificate)",
        "tls_config_noAuth.requireanyclientcertkeyinline.good.yml",
        "refused",
        "RequireAnyClientCert without client_ca_file or client_ca cannot be honoured",
        verdict="stricter",
        why=_ANY_CERT,
        tls=True,
        cert="client_selfsigned",
    ),
    Row(
        "valid tls config yml and tls client with RequireAndVerifyClientCert (present certificate)",
        "tls_config_noAuth.requireandverifyclientcert.good.yml",
        "ok",
        tls=True,
        cert="client_selfsigned",
    ),
    Row(
        "valid tls config yml and tls client with VerifyPeerCertificate "
        "(present good SAN DNS entry)",
        "web_config_auth_client_san.good.yaml",
        "ok",
        tls=True,
        cert="client2_selfsigned",
    ),
    Row(
        "valid tls config yml and tls client with VerifyPeerCertificate "
        "(present invalid SAN DNS entries)",
        "web_config_auth_client_san.bad.yaml",
        "denied",
        tls=True,
        cert="client2_selfsigned",
    ),
    Row(
        "valid rate limiter (no rate limiter set up) that doesn't block",
        "web_config_rate_limiter_nonblocking.yaml",
        "ok",
        requests=10,
    ),
    Row(
        "valid rate limiter with an interval of one second",
        "web_config_rate_limiter_one_second.yaml",
        429,
        requests=10,
    ),
]

USERS = [
    Row("without basic auth", "web_config_users_noTLS.good.yml", 401),
    Row(
        "with correct basic auth",
        "web_config_users_noTLS.good.yml",
        "ok",
        auth=("dave", "dave123"),
    ),
    Row("without basic auth and TLS", "web_config_users.good.yml", 401, tls=True),
    Row(
        "with correct basic auth and TLS",
        "web_config_users.good.yml",
        "ok",
        tls=True,
        auth=("dave", "dave123"),
    ),
    Row(
        "with another correct basic auth and TLS",
        "web_config_users.good.yml",
        "ok",
        tls=True,
        auth=("carol", "carol123"),
    ),
    Row(
        "with bad password and TLS",
        "web_config_users.good.yml",
        401,
        tls=True,
        auth=("dave", "bad"),
    ),
    Row(
        "with bad username and TLS",
        "web_config_users.good.yml",
        401,
        tls=True,
        auth=("nonexistent", "nonexistent"),
    ),
]

# TestTLSConfigIsEnabled: which tls_server_config turns TLS on (then cert and key are needed).
IS_ENABLED: list[tuple[str, dict[str, Any], str]] = [
    ("empty config", {}, "plain"),
    ("only non-enabling fields set", {"min_version": "TLS12"}, "plain"),
    ("cert_file and key_file set", {"cert_file": "server.crt", "key_file": "server.key"}, "tls"),
    (
        "inline cert and key set",
        {"cert": (DATA / "server.crt").read_text(), "key": (DATA / "server.key").read_text()},
        "tls",
    ),
    ("only client CA file set", {"client_ca_file": "client_selfsigned.pem"}, "refused"),
    ("only client auth type set", {"client_auth_type": "RequireAndVerifyClientCert"}, "refused"),
]
# handler_test.go, and TestConfigReloading: their own tests below.
OTHER = [
    ("TestBasicAuthCache", "pass"),
    ("TestBasicAuthWithFakepassword", "pass"),
    ("TestByPassBasicAuthVuln", "pass"),
    ("TestHTTPHeaders", "pass"),
    ("TestConfigReloading", "pass"),
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    cipher: str | None = None


def get(port: int, row: Row) -> Answer:
    """GET / once, as the Go test's client does (raises OSError on a failed connection)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock: socket.socket = raw
    cipher = None
    try:
        if row.tls:
            ctx = ssl.create_default_context(cafile=str(DATA / "server.crt"))
            # upstream's CAs carry only anyExtendedKeyUsage, which OpenSSL (unlike Go) refuses
            # for a TLS server: the client trusts the server certificate itself instead
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            if row.cert:
                ctx.load_cert_chain(DATA / f"{row.cert}.pem", DATA / f"{row.cert}.key")
            if row.max_version:
                with warnings.catch_warnings():  # TLSv1_1 is deprecated: that is the point
                    warnings.simplefilter("ignore", DeprecationWarning)
                    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                    ctx.maximum_version = row.max_version
            if row.ciphers:
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # Go's list is for TLS 1.2 only
                ctx.set_ciphers(":".join(row.ciphers))
            if row.curve:
                ctx.set_ecdh_curve(row.curve)
            wrapped = ctx.wrap_socket(raw, server_hostname="localhost")
            cipher = (wrapped.cipher() or ("",))[0]
            sock = wrapped
        head = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if row.auth:
            token = base64.b64encode(":".join(row.auth).encode()).decode()
            head += f"Authorization: Basic {token}\r\n"
        sock.sendall((head + "\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    if not data:
        raise ConnectionError("closed without an answer")
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(lines[0].split()[1]), headers, body, cipher)


def outcome(row: Row, port: int) -> str | int:
    """Run the row's requests; return "ok", "error", "denied" or the first non-200 status."""
    for _ in range(row.requests + 1):
        try:
            answer = get(port, row)
        except (OSError, ssl.SSLError):
            return "error"
        if answer.status != 200:
            return answer.status
        if answer.body != HELLO:
            return "error"
        if row.cipher_used:
            assert answer.cipher == row.cipher_used, answer.cipher
        for name, value in row.headers.items():
            assert answer.headers.get(name.lower()) == value, (name, answer.headers)
    return "ok"


def replay(row: Row, tmp_path: Path) -> None:
    config = None
    if row.config is not None:
        config = DATA / row.config
    if row.expect == "refused":
        with pytest.raises(ConfigError) as info:
            webconfig.load(config or DATA / "absent")
        text = "\n".join(info.value.problems)
        assert row.says in text, text
        return
    with running(config) as (port, _live):
        got = outcome(row, port)
    if row.expect == "denied":
        assert got in ("error", 403), got
    else:
        assert got == row.expect, (got, row.expect)


@pytest.mark.parametrize("row", YAML_FILES, ids=lambda r: f"run/{r.name}")
def test_yaml_files_run(row: Row, tmp_path: Path) -> None:
    replay(row, tmp_path)


@pytest.mark.parametrize("row", YAML_FILES, ids=lambda r: f"validate/{r.name}")
def test_yaml_files_validate(row: Row) -> None:
    """Upstream's Validate: the file alone, as ``--web.config.file`` is checked at start."""
    if row.expect == "refused":
        with pytest.raises(ConfigError):
            webconfig.load(DATA / str(row.config))
    else:
        webconfig.load(DATA / str(row.config))


@pytest.mark.parametrize("row", SERVER_BEHAVIOUR, ids=lambda r: r.name)
def test_server_behaviour(row: Row, tmp_path: Path) -> None:
    replay(row, tmp_path)


@pytest.mark.parametrize("row", USERS, ids=lambda r: r.name)
def test_users(row: Row, tmp_path: Path) -> None:
    replay(row, tmp_path)


@pytest.mark.parametrize(("name", "tls", "expect"), IS_ENABLED, ids=[r[0] for r in IS_ENABLED])
def test_tls_config_is_enabled(name: str, tls: dict[str, Any], expect: str) -> None:
    if expect == "refused":
        with pytest.raises(ConfigError, match="missing one of cert or cert_file"):
            webconfig.parse({"tls_server_config": tls}, base_dir=DATA)
        return
    security = webconfig.parse({"tls_server_config": tls}, base_dir=DATA)
    assert (security.tls is not None) == (expect == "tls")


def test_config_reloading(tmp_path: Path) -> None:
    """TestConfigReloading: a blocking file (a client certificate is required and none is
    sent) swapped for a good one takes effect without a restart."""
    for name in ("server.crt", "server.key"):
        shutil.copy(DATA / name, tmp_path / name)
    web = tmp_path / "web.yml"
    shutil.copy(DATA / "web_config_noAuth.good.blocking.yml", web)
    row = Row("reload", "", "ok", tls=True)
    with running(web, watch=0.1) as (port, _live):
        assert outcome(row, port) == "error"
        web.write_bytes((DATA / "web_config_noAuth.good.yml").read_bytes())
        poll(
            lambda: outcome(row, port),
            lambda got: got == "ok",
            timeout=10,
            interval=0.1,
            what="the good file",
        )


def test_basic_auth_cache() -> None:
    """TestBasicAuthCache: 150 right and 150 wrong passwords at once, after a first login."""
    ok = Row("ok", None, "ok", auth=("alice", "alice123"))
    bad = Row("bad", None, "ok", auth=("alice", "alice1234"))
    with running(DATA / "web_config_users_noTLS.good.yml") as (port, _live):
        assert outcome(ok, port) == "ok" and outcome(bad, port) == 401
        got: list[str | int] = []
        start = threading.Barrier(300)

        def login(row: Row) -> None:
            start.wait(30)
            got.append(outcome(row, port))

        threads = [threading.Thread(target=login, args=(r,)) for r in [ok, bad] * 150]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(got, key=str) == sorted(["ok"] * 150 + [401] * 150, key=str)


def test_basic_auth_with_fake_password() -> None:
    """TestBasicAuthWithFakepassword: the unknown-user hash's password logs nobody in."""
    row = Row("fake", None, 401, auth=("fakeuser", "fakepassword"))
    with running(DATA / "web_config_users_noTLS.good.yml") as (port, _live):
        assert outcome(row, port) == 401  # cold cache
        assert outcome(row, port) == 401  # cached


def test_bypass_basic_auth_vuln() -> None:
    """TestByPassBasicAuthVuln (CVE-2022-46146): a poisoned cache lets nobody in."""
    with running(DATA / "web_config_users_noTLS.good.yml") as (port, _live):
        for auth in (
            ("alice$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby", "fakepassword"),
            ("alice", "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSifakepassword"),
        ):
            assert outcome(Row("poison", None, 401, auth=auth), port) == 401


def test_http_headers() -> None:
    """TestHTTPHeaders: the configured headers are on the answer."""
    row = next(r for r in SERVER_BEHAVIOUR if r.name == "valid headers config")
    with running(DATA / str(row.config)) as (port, _live):
        answer = get(port, row)
    for name, value in row.headers.items():
        assert answer.headers[name.lower()] == value


def tally() -> dict[str, int]:
    """Return how many of upstream's 75 server cases (TestYAMLFiles run and validate,
    TestServerBehaviour, TestConfigReloading, TestUsers, handler_test.go) end in each verdict;
    TestTLSConfigIsEnabled's 6 parse-only cases come on top (all pass)."""
    counts: dict[str, int] = {}
    rows = [*YAML_FILES, *YAML_FILES, *SERVER_BEHAVIOUR, *USERS]
    verdicts = [r.verdict for r in rows] + [v for _, v in OTHER]
    for verdict in verdicts:
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def test_tally(capsys: pytest.CaptureFixture[str]) -> None:
    """Every row has a verdict, and every non-pass one says why."""
    for row in [*YAML_FILES, *SERVER_BEHAVIOUR, *USERS]:
        assert row.verdict in ("pass", "pass-unsupported", "stricter"), row
        assert (row.verdict == "pass") != bool(row.why), row
    counts = tally()
    with capsys.disabled():
        print(f"\nexporter-toolkit replay: {counts}")
    assert sum(counts.values()) == 75 and len(IS_ENABLED) == 6
    assert counts == {"pass": 71, "pass-unsupported": 2, "stricter": 2}
