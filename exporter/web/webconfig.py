"""Load ``--web.config.file``: exporter-toolkit's web configuration (node_exporter's format).

Every option exporter-toolkit reads is accepted, with its semantics where Python's ``ssl``
can honour them; where it cannot, the file is still accepted and a warning names what is not
applied, except where client authentication would be weakened: then the exporter refuses to
start, naming the option. See the README's table.

Re-read when it or a file it names changes, on SIGHUP and on ``/-/reload`` (exporter.web.watch).
Files are read without blocking and must be regular files of at most 64 KiB, so a FIFO or a
device is an error, not a hang. Every problem is reported at once, one line each, naming the
key path; a private key (``key`` or ``key_file``) or a password hash is never echoed::

    web.yml: tls_server_config.key_file: cannot read '/etc/x/server.key': No such file ...
    web.yml: tls_server_config.min_version: unknown TLS version 'TLS111' (TLS10 ... TLS13)
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.validation import Checker, ConfigError, kind_of, load_yaml, read_small_file
from exporter.web.auth import bcrypt_cost, cost_warnings

TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_OLD_VERSIONS = ("TLS10", "TLS11")  # exporter-toolkit accepts them; OpenSSL here refuses them
# client_auth_type -> verify mode. Python's ssl verifies every client certificate it receives
# (against client_ca_file/client_ca, else the system's CAs): it cannot request one unverified.
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireClientCert": ssl.CERT_REQUIRED,  # exporter-toolkit's old name of the one above
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED = ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert")
# Go's names (crypto/tls.CipherSuites()) -> OpenSSL's; None: a TLS 1.3 suite, not selectable
# in Go (ignored there) nor in Python's ssl.
CIPHERS: dict[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
# Go's HTTP/2 server refuses a TLS 1.2 cipher list without one of these (exporter-toolkit too).
_HTTP2_CIPHERS = (
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
)
CURVES = {"CurveP256": "prime256v1", "CurveP384": "secp384r1", "CurveP521": "secp521r1"}
CURVES["X25519"] = "X25519"
# Response headers an operator may set (exporter-toolkit's list) -> the values allowed (any).
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_TOP_KEYS = ("tls_server_config", "http_server_config", "rate_limit", "basic_auth_users")
_TLS_KEYS = (
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "cipher_suites",
    "curve_preferences",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
)
# Any of these set (non-empty) turns TLS on, as exporter-toolkit's TLSConfig.IsEnabled.
_ENABLING = (
    "cert_file",
    "cert",
    "key_file",
    "key",
    "client_ca_file",
    "client_ca",
    "client_auth_type",
)
_AUTH_EXTRA = "pip install 'ucloud-image-exporter[auth]'"
MAX_FILE_BYTES = 64 * 1024  # web config, certificates and keys are small: refuse anything else
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_UNIT["h"] = 3600.0


@dataclass(frozen=True)
class TLSSettings:
    """The validated ``tls_server_config``: a server SSLContext and what it enforces."""

    context: ssl.SSLContext
    client_auth: str = "NoClientCert"
    min_version: str = "TLS12"
    # client_allowed_sans: a client certificate must carry one of them (None: not checked)
    allowed_sans: frozenset[str] | None = None
    # what a reload copies onto the listener's front context with the versions (its
    # connections keep the front context's options and curve; exporter.web.watch)
    prefer_server_ciphers: bool = True
    curve: str | None = None  # the OpenSSL name of the curve applied (None: OpenSSL's list)


@dataclass(frozen=True)
class RateLimit:
    """``rate_limit``: a token bucket of ``burst`` requests, one back every ``interval`` s."""

    interval: float
    burst: int


@dataclass(frozen=True)
class WebSecurity:
    """The validated web configuration (see exporter.web.watch)."""

    source: str
    tls: TLSSettings | None = None
    users: Mapping[str, str] = field(default_factory=dict, repr=False)
    files: tuple[Path, ...] = ()  # the certificate, key and CA files it was built from
    warnings: tuple[str, ...] = ()  # not errors, logged at start and on every reload
    headers: tuple[tuple[str, str], ...] = ()  # http_server_config.headers, on every answer
    rate_limit: RateLimit | None = None

    def describe(self) -> str:
        """Return a one-line summary (never hashes)."""
        tls = (
            f"TLS (min {self.tls.min_version}, client certificates: {self.tls.client_auth})"
            if self.tls
            else "no TLS"
        )
        auth = f"basic auth for {len(self.users)} users" if self.users else "no basic auth"
        return f"{tls}, {auth}"


def _known(check: Checker, raw: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """Return ``raw`` as a mapping; refuse unknown keys (as yaml.UnmarshalStrict does)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        check.fail(path or "(top level)", f"must be a mapping, got {kind_of(raw)}")
        return {}
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            check.fail(where, f"unknown key (allowed: {', '.join(allowed)})")
    return raw


def _text(check: Checker, s: Mapping[str, Any], key: str) -> str:
    """Read an optional string of tls_server_config; null and absent are ''."""
    value = s.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    check.fail(f"tls_server_config.{key}", f"must be a string, got {kind_of(value)}")
    return ""


def _names(check: Checker, s: Mapping[str, Any], key: str, known: Mapping[str, Any]) -> list[str]:
    """Read a list of names (cipher_suites, curve_preferences); refuse unknown ones."""
    value = s.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        check.fail(f"tls_server_config.{key}", f"must be a list, got {kind_of(value)}")
        return []
    out = []
    what = "cipher" if key == "cipher_suites" else "curve"
    for i, name in enumerate(value):
        if isinstance(name, str) and name in known:
            out.append(name)
        else:
            check.fail(
                f"tls_server_config.{key}[{i}]",
                f"unknown {what} {name!r} (known: {', '.join(known)})",
            )
    return out


def _version(check: Checker, s: Mapping[str, Any], key: str, default: str) -> str:
    value = s.get(key)
    if value is None:
        return default
    names = (*_OLD_VERSIONS, *TLS_VERSIONS)
    if value not in names:
        check.fail(
            f"tls_server_config.{key}",
            f"unknown TLS version {value!r} (one of {', '.join(names)})",
        )
        return default
    return str(value)


_MARKERS = {
    "cert": (b"-----BEGIN CERTIFICATE-----", "certificate"),
    "key": (b"PRIVATE KEY-----", "private key"),
    "client_ca": (b"-----BEGIN CERTIFICATE-----", "CA certificate"),
}


def _pem(
    check: Checker, s: Mapping[str, Any], name: str, base: Path, warnings: list[str]
) -> tuple[bytes | None, Path | None]:
    """Return the PEM of ``name`` from ``<name>_file`` (preferred, as upstream) or inline."""
    marker, what = _MARKERS[name]
    path, inline = _text(check, s, f"{name}_file"), _text(check, s, name)
    if path and inline:
        warnings.append(
            f"tls_server_config.{name}: ignored, {name}_file is set "
            "(exporter-toolkit reads the file too)"
        )
    if path:
        file_ = base / Path(path).expanduser()
        where = f"tls_server_config.{name}_file"
        try:
            data = read_small_file(file_, limit=MAX_FILE_BYTES)
        except OSError as exc:
            check.fail(where, f"cannot read {str(file_)!r}: {exc.strerror or exc}")
            return None, None
        if marker not in data:
            check.fail(where, f"no PEM {what} in {str(file_)!r}")
            return None, None
        return data, file_
    if inline:
        data = inline.encode("utf-8", "replace")
        if marker not in data:  # never echo it: it may be a key
            check.fail(f"tls_server_config.{name}", f"no PEM {what} in it")
            return None, None
        return data, None
    if name != "client_ca":
        check.fail(f"tls_server_config.{name}_file", f"missing one of {name} or {name}_file")
    return None, None


@contextlib.contextmanager
def _in_memory(*blobs: bytes) -> Iterator[list[str]]:
    """Yield paths holding ``blobs`` for OpenSSL, in memory where the system allows it."""
    fds: list[int] = []
    tmp: tempfile.TemporaryDirectory[str] | None = None
    paths = []
    try:
        for i, blob in enumerate(blobs):
            if hasattr(os, "memfd_create"):
                fd = os.memfd_create("web-config-pem", os.MFD_CLOEXEC)
                fds.append(fd)
                os.write(fd, blob)
                paths.append(f"/proc/self/fd/{fd}")
            else:  # pragma: no cover - not Linux
                tmp = tmp or tempfile.TemporaryDirectory()
                p = Path(tmp.name) / str(i)
                p.touch(mode=0o600)
                p.write_bytes(blob)
                paths.append(str(p))
        yield paths
    finally:
        for fd in fds:
            os.close(fd)
        if tmp is not None:  # pragma: no cover
            tmp.cleanup()


def _client_auth(
    check: Checker, s: Mapping[str, Any], has_ca: bool, warnings: list[str]
) -> str | None:
    """Read client_auth_type; return it, or None when it cannot be honoured here."""
    auth = _text(check, s, "client_auth_type") or "NoClientCert"
    where = "tls_server_config.client_auth_type"
    if auth not in CLIENT_AUTH:
        check.fail(where, f"invalid ClientAuth {auth!r}: one of {', '.join(CLIENT_AUTH)}")
        return None
    if has_ca and auth == "NoClientCert":
        check.fail(
            "tls_server_config.client_ca_file",
            "client CA's have been configured without a Client Auth Policy: client_auth_type "
            "is NoClientCert; use RequireAndVerifyClientCert to verify clients",
        )
        return None
    if auth in _UNVERIFIED and not has_ca and auth != "RequestClientCert":
        check.fail(
            where,
            f"{auth} without client_ca_file or client_ca cannot be honoured: Python's ssl "
            "cannot ask for a client certificate without verifying it; set client_ca_file "
            "(then certificates are verified against it) or use RequireAndVerifyClientCert",
        )
        return None
    if auth in _UNVERIFIED:
        warnings.append(
            f"tls_server_config.client_auth_type: {auth}: a client certificate is verified "
            f"against {'the client CA' if has_ca else 'the system CAs'} here, which "
            "exporter-toolkit does not do (Python's ssl always verifies)"
        )
    elif auth != "NoClientCert" and not has_ca:
        warnings.append(
            f"tls_server_config.client_auth_type: {auth} without client_ca_file: client "
            "certificates are verified against the system CAs, as exporter-toolkit does"
        )
    return auth


def _ciphers(ctx: ssl.SSLContext, names: list[str], warnings: list[str]) -> bool:
    """Apply cipher_suites (TLS 1.2); return False when only TLS 1.3 suites are listed."""
    tls13 = [n for n in names if CIPHERS[n] is None]
    if tls13:
        warnings.append(
            "tls_server_config.cipher_suites: TLS 1.3 suites are not applied (not "
            f"selectable, as in Go): {', '.join(tls13)}"
        )
    openssl = [c for n in names if (c := CIPHERS[n]) is not None]
    if openssl:
        ctx.set_ciphers(":".join(openssl))
    return bool(openssl)


def _versions(check: Checker, s: Mapping[str, Any], warnings: list[str]) -> tuple[str, str]:
    """Read min_version and max_version; TLS10/TLS11 as a minimum are raised to TLS12."""
    low = _version(check, s, "min_version", "TLS12")
    high = _version(check, s, "max_version", "TLS13")
    if high in _OLD_VERSIONS:
        check.fail("tls_server_config.max_version", f"{high}: TLS 1.0 and 1.1 are not supported")
        high = "TLS13"
    if low in _OLD_VERSIONS:
        warnings.append(
            f"tls_server_config.min_version: {low} is raised to TLS12 "
            "(TLS 1.0 and 1.1 are not supported)"
        )
        low = "TLS12"
    if TLS_VERSIONS[low] > TLS_VERSIONS[high]:
        check.fail("tls_server_config.max_version", f"{high} is below min_version {low}")
    return low, high


def _context(
    check: Checker, s: Mapping[str, Any], base: Path, http2: bool, warnings: list[str]
) -> tuple[TLSSettings | None, list[Path]]:
    """Validate an enabled ``tls_server_config`` and build the server SSLContext."""
    before = len(check.problems)
    cert, cert_file = _pem(check, s, "cert", base, warnings)
    key, key_file = _pem(check, s, "key", base, warnings)
    ca, ca_file = _pem(check, s, "client_ca", base, warnings)
    auth = _client_auth(
        check, s, ca is not None or bool(_text(check, s, "client_ca_file")), warnings
    )
    low, high = _versions(check, s, warnings)
    ciphers = _names(check, s, "cipher_suites", CIPHERS)
    _names(check, s, "curve_preferences", CURVES)
    prefer = s.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        check.fail(
            "tls_server_config.prefer_server_cipher_suites",
            f"must be true or false, got {kind_of(prefer)}",
        )
    sans = _sans(check, s, auth, warnings)
    if http2 and ciphers and low == "TLS12" and not set(_HTTP2_CIPHERS) & set(ciphers):
        check.fail(
            "tls_server_config.cipher_suites",
            f"HTTP/2 needs {' or '.join(_HTTP2_CIPHERS)} (exporter-toolkit refuses this file "
            "too); add one, or set http_server_config.http2: false",
        )
    if len(check.problems) > before or cert is None or key is None or auth is None:
        return None, []
    ctx = _build(check, s, (cert, key, ca), (cert_file, key_file, ca_file), warnings)
    if ctx is None:
        return None, []
    if ctx.minimum_version == ssl.TLSVersion.TLSv1_3:  # cipher_suites lists only TLS 1.3
        low = "TLS13"
    ctx.minimum_version = TLS_VERSIONS[low]
    ctx.maximum_version = TLS_VERSIONS[high]
    ctx.verify_mode = CLIENT_AUTH[auth]
    if ca is None and auth != "NoClientCert":
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    files = [p for p in (cert_file, key_file, ca_file) if p is not None]
    curves = [n for n in s.get("curve_preferences") or [] if n in CURVES]
    curve = CURVES[curves[0]] if curves else None
    return TLSSettings(ctx, auth, low, sans, prefer is not False, curve), files


def _build(
    check: Checker,
    s: Mapping[str, Any],
    pems: tuple[bytes, bytes, bytes | None],
    files: tuple[Path | None, Path | None, Path | None],
    warnings: list[str],
) -> ssl.SSLContext | None:
    """Return an SSLContext with the certificate, client CA, ciphers and curve of ``s``."""
    (cert, key, ca), (cert_file, key_file, ca_file) = pems, files
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if s.get("prefer_server_cipher_suites", True) is False:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    ciphers = [n for n in s.get("cipher_suites") or [] if n in CIPHERS]
    if ciphers and not _ciphers(ctx, ciphers, warnings):
        if s.get("max_version") == "TLS12":
            check.fail(
                "tls_server_config.cipher_suites",
                "lists only TLS 1.3 suites, but max_version is TLS12",
            )
            return None
        warnings.append(
            "tls_server_config.cipher_suites: only TLS 1.3 suites: TLS 1.2 is refused, as in Go"
        )
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    curves = [n for n in s.get("curve_preferences") or [] if n in CURVES]
    if curves:
        ctx.set_ecdh_curve(CURVES[curves[0]])
        if len(curves) > 1:
            warnings.append(
                f"tls_server_config.curve_preferences: only {curves[0]} is applied (Python's ssl "
                f"sets one curve); not applied: {', '.join(curves[1:])}"
            )
    try:
        with _in_memory(cert, key) as (cert_path, key_path):
            ctx.load_cert_chain(cert_path, key_path, password=_no_password)
    except (ssl.SSLError, ValueError, OSError) as exc:
        check.fail(
            "tls_server_config",
            f"{_origin('cert', cert_file)} and {_origin('key', key_file)} do not form a valid "
            f"pair: {_why(exc)}",
        )
        return None
    if ca is not None:
        try:
            ctx.load_verify_locations(cadata=ca.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError) as exc:
            where = "client_ca_file" if ca_file else "client_ca"
            check.fail(
                f"tls_server_config.{where}",
                f"invalid CA certificate: {_why(exc)}",
            )
            return None
    return ctx


def _why(exc: Exception) -> str:
    """Say why OpenSSL refused a PEM: its reason code, or our own ValueError's text; never
    the PEM itself (OpenSSL's messages do not quote it)."""
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason)
    return str(exc) if isinstance(exc, ValueError) else type(exc).__name__


def _origin(name: str, file_: Path | None) -> str:
    return f"{name}_file {str(file_)!r}" if file_ is not None else f"inline {name}"


def _no_password() -> bytes:
    raise ValueError("encrypted private keys are not supported")


def _sans(
    check: Checker, s: Mapping[str, Any], auth: str | None, warnings: list[str]
) -> frozenset[str] | None:
    """Read client_allowed_sans (IP addresses in Go's canonical form)."""
    value = s.get("client_allowed_sans")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.fail("tls_server_config.client_allowed_sans", "must be a list of strings")
        return None
    if auth == "NoClientCert":
        warnings.append(
            "tls_server_config.client_allowed_sans: not applied: client_auth_type is "
            "NoClientCert, so no client certificate is asked for (as in exporter-toolkit)"
        )
        return None
    return frozenset(canonical_san(v) for v in value)


def canonical_san(value: str) -> str:
    """Return an IP address as Go prints it (``::1``, not ``0:0:...:1``); others unchanged."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value


def _http(
    check: Checker, raw: Any, warnings: list[str]
) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Read ``http_server_config``: http2 (HTTP/1.1 only here) and headers."""
    section = _known(check, raw, "http_server_config", ("http2", "headers"))
    http2 = section.get("http2", True)
    if not isinstance(http2, bool):
        check.fail("http_server_config.http2", f"must be true or false, got {kind_of(http2)}")
        http2 = True
    headers = section.get("headers") or {}
    if not isinstance(headers, Mapping):
        check.fail("http_server_config.headers", f"must be a mapping, got {kind_of(headers)}")
        return http2, ()
    out = []
    for name, raw_value in headers.items():
        where = f"http_server_config.headers.{name}"
        value = _scalar(raw_value)
        if name not in HEADERS:
            check.fail(
                where, f"HTTP header {name!r} can not be configured (only: {', '.join(HEADERS)})"
            )
        elif value is None or not value.isascii() or not value.isprintable():
            check.fail(where, "must be one line of printable ASCII text")
        elif HEADERS[name] and value not in HEADERS[name]:
            check.fail(
                where, f"invalid value for {name}: {value!r} (one of {', '.join(HEADERS[name])})"
            )
        else:
            out.append((str(name), value))
    return http2, tuple(out)


def _scalar(value: Any) -> str | None:
    """Return a YAML scalar as Go's yaml reads it into a string (``1``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def go_duration(value: Any) -> float | None:
    """Return a Go duration (``1s``, ``1m30s``, ``250ms``; an integer is nanoseconds) in
    seconds, or None when malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 1e-9
    if not isinstance(value, str):
        return None
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == "0":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sign * sum(float(n) * _UNIT[u] for n, u in parts)


def _rate(check: Checker, raw: Any, warnings: list[str]) -> RateLimit | None:
    """Read ``rate_limit``: ``interval`` (0: no limit) and ``burst``."""
    section = _known(check, raw, "rate_limit", ("interval", "burst"))
    interval = go_duration(section.get("interval", 0))
    burst = section.get("burst", 0)
    if interval is None:
        check.fail("rate_limit.interval", "must be a duration like 1s or 500ms")
    if isinstance(burst, bool) or not isinstance(burst, int):
        check.fail("rate_limit.burst", f"must be an integer, got {kind_of(burst)}")
        return None
    if interval is None or interval == 0:
        return None
    if interval < 0:
        warnings.append("rate_limit.interval: negative: no rate limit (as in exporter-toolkit)")
        return None
    if burst <= 0:
        warnings.append(
            "rate_limit.burst: 0 or less: every request is answered 429 (as in exporter-toolkit)"
        )
    return RateLimit(interval, max(0, burst))


def _users(check: Checker, raw: Any) -> dict[str, str]:
    """Read ``basic_auth_users`` (username -> bcrypt hash); never echo a hash."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        check.fail("basic_auth_users", "must be a mapping of username to bcrypt hash")
        return {}
    users: dict[str, str] = {}
    for name, hashed in raw.items():
        path = f"basic_auth_users.{name}"
        if not isinstance(name, str) or not name or ":" in name:
            check.fail(path, "username must be a non-empty string without ':'")
        elif not isinstance(hashed, str) or bcrypt_cost(hashed) is None:
            check.fail(
                path,
                "must be a bcrypt hash like $2y$10$<53 characters> with cost "
                "4-31 (make one with htpasswd -nBC 10 \"\" | tr -d ':\\n')",
            )
        else:
            users[name] = hashed
    if raw:
        try:
            import bcrypt  # noqa: F401
        except ImportError:
            check.fail("basic_auth_users", f"needs the bcrypt package: {_AUTH_EXTRA}")
    return users


def parse(data: Any, *, source: str = "web-config", base_dir: Path | None = None) -> WebSecurity:
    """Validate decoded YAML ``data``; raise ConfigError listing every problem."""
    check = Checker(source)
    warnings: list[str] = []
    top = _known(check, data, "", _TOP_KEYS)
    s = _known(check, top.get("tls_server_config"), "tls_server_config", _TLS_KEYS)
    http2, headers = _http(check, top.get("http_server_config"), warnings)
    rate = _rate(check, top.get("rate_limit"), warnings)
    tls: TLSSettings | None = None
    files: list[Path] = []
    if any(s.get(k) for k in _ENABLING):
        tls, files = _context(check, s, base_dir or Path.cwd(), http2, warnings)
    else:  # exporter-toolkit serves plain HTTP then; the other settings are still checked
        _version(check, s, "min_version", "TLS12")
        _version(check, s, "max_version", "TLS13")
        _names(check, s, "cipher_suites", CIPHERS)
        _names(check, s, "curve_preferences", CURVES)
        if set_ := [k for k in _TLS_KEYS if s.get(k) is not None]:
            warnings.append(
                f"tls_server_config: no cert_file or cert: TLS is off and {', '.join(set_)} "
                "not applied; serving plain HTTP (as exporter-toolkit does)"
            )
    users = _users(check, top.get("basic_auth_users"))
    if check.problems:
        raise ConfigError(check.problems)
    warnings += cost_warnings(users)
    return WebSecurity(
        source=source,
        tls=tls,
        users=users,
        files=tuple(files),
        warnings=tuple(f"{source}: {w}" for w in warnings),
        headers=headers,
        rate_limit=rate,
    )


def load(path: str | Path) -> WebSecurity:
    """Read and validate the web config file at ``path``; files are relative to it."""
    p = Path(path)
    data = load_yaml(p, what="web config file", limit=MAX_FILE_BYTES)
    return parse(data, source=str(p), base_dir=p.parent)
