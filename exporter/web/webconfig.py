"""Load ``--web.config.file``: TLS and basic auth, a subset of the exporter-toolkit format.

Re-read when it or a file it names changes, on SIGHUP and on ``/-/reload`` (exporter.web.watch).
Files are read without blocking and must be regular files of at most 64 KiB, so a FIFO or a
device is an error, not a hang. Every problem is reported at once, one line each,
naming the key path, like the main configuration::

    web.yml: tls_server_config.key_file: cannot read '/etc/x/server.key': No such file ...
    web.yml: tls_server_config.min_version: must be TLS12 or TLS13, got 'TLS10' (TLS 1.0 ...
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.validation import Checker, ConfigError, kind_of, load_yaml, read_small_file
from exporter.web.auth import bcrypt_cost, cost_warnings

TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# client_auth_type -> (verify mode, needs client_ca_file). Python's ssl verifies every client
# certificate it receives, so RequireAnyClientCert is stricter here: the certificate must be
# signed by client_ca_file.
CLIENT_AUTH = {
    "NoClientCert": (ssl.CERT_NONE, False),
    "VerifyClientCertIfGiven": (ssl.CERT_OPTIONAL, True),
    "RequireAnyClientCert": (ssl.CERT_REQUIRED, True),
    "RequireAndVerifyClientCert": (ssl.CERT_REQUIRED, True),
}
_TOP_KEYS = ("tls_server_config", "basic_auth_users")
_TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
)
# exporter-toolkit keys this exporter does not implement: refused by name, never ignored.
_UNSUPPORTED_TOP = ("http_server_config", "rate_limit")
_UNSUPPORTED_TLS = (
    "cert",
    "key",
    "client_ca",
    "client_allowed_sans",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
)
_AUTH_EXTRA = "pip install 'ucloud-image-exporter[auth]'"
MAX_FILE_BYTES = 64 * 1024  # web config, certificates and keys are small: refuse anything else


@dataclass(frozen=True)
class TLSSettings:
    """The validated ``tls_server_config``: a server SSLContext and what it enforces."""

    context: ssl.SSLContext
    client_auth: str = "NoClientCert"
    min_version: str = "TLS12"


@dataclass(frozen=True)
class WebSecurity:
    """The validated web configuration: TLS and/or basic-auth users (see exporter.web.watch)."""

    source: str
    tls: TLSSettings | None = None
    users: Mapping[str, str] = field(default_factory=dict, repr=False)
    files: tuple[Path, ...] = ()  # the certificate, key and CA files it was built from
    warnings: tuple[str, ...] = ()  # not errors, logged at start and on every reload

    def describe(self) -> str:
        """Return a one-line summary (never hashes)."""
        tls = (
            f"TLS (min {self.tls.min_version}, client certificates: {self.tls.client_auth})"
            if self.tls
            else "no TLS"
        )
        auth = f"basic auth for {len(self.users)} users" if self.users else "no basic auth"
        return f"{tls}, {auth}"


def _known(
    check: Checker, raw: Any, path: str, allowed: tuple[str, ...], unsupported: tuple[str, ...]
) -> Mapping[str, Any]:
    """Return ``raw`` as a mapping; refuse unknown keys and unsupported toolkit keys."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        check.fail(path or "(top level)", f"must be a mapping, got {kind_of(raw)}")
        return {}
    for key in raw:
        where = f"{path}.{key}" if path else str(key)
        if key in unsupported:
            check.fail(where, "exporter-toolkit option not supported by ucloud-image-exporter")
        elif key not in allowed:
            check.fail(where, f"unknown key (allowed: {', '.join(allowed)})")
    return raw


def _read(check: Checker, path: str, file_: Path, marker: bytes, what: str) -> bytes | None:
    """Read a PEM file, reporting unreadable files and files without ``marker``."""
    try:
        data = read_small_file(file_, limit=MAX_FILE_BYTES)
    except OSError as exc:
        check.fail(path, f"cannot read {str(file_)!r}: {exc.strerror or exc}")
        return None
    if marker not in data:
        check.fail(path, f"no PEM {what} in {str(file_)!r}")
        return None
    return data


def _no_password() -> bytes:
    raise ValueError("encrypted private keys are not supported")


def _version(check: Checker, s: Mapping[str, Any], key: str, default: str) -> str:
    value = check.string(s, "tls_server_config", key, default) or default
    if value not in TLS_VERSIONS:
        check.fail(
            f"tls_server_config.{key}",
            f"must be TLS12 or TLS13, got {value!r}"
            + (
                " (TLS 1.0 and 1.1 are insecure and not supported)"
                if value in ("TLS10", "TLS11")
                else ""
            ),
        )
        return default
    return value


_PEM = {
    "cert_file": (b"-----BEGIN CERTIFICATE-----", "certificate"),
    "key_file": (b"PRIVATE KEY-----", "private key"),
    "client_ca_file": (b"-----BEGIN CERTIFICATE-----", "CA certificate"),
}


def _files(check: Checker, s: Mapping[str, Any], base: Path) -> dict[str, Path]:
    """Resolve cert_file, key_file (required) and client_ca_file against ``base``."""
    files: dict[str, Path] = {}
    for key, (marker, what) in _PEM.items():
        value = check.string(s, "tls_server_config", key)
        if value is None and key != "client_ca_file":
            check.fail(f"tls_server_config.{key}", "missing: TLS needs cert_file and key_file")
        elif value == "":
            check.fail(f"tls_server_config.{key}", "must not be empty")
        elif value is not None:
            p = base / Path(value).expanduser()
            if _read(check, f"tls_server_config.{key}", p, marker, what) is not None:
                files[key] = p
    return files


def _client_auth(check: Checker, s: Mapping[str, Any]) -> str:
    """Read client_auth_type and check it against client_ca_file."""
    auth = check.string(s, "tls_server_config", "client_auth_type", "NoClientCert")
    if auth is None or auth not in CLIENT_AUTH:
        check.fail(
            "tls_server_config.client_auth_type",
            f"must be one of {', '.join(CLIENT_AUTH)}, got {auth!r}",
        )
        return "NoClientCert"
    if CLIENT_AUTH[auth][1] and s.get("client_ca_file") is None:
        check.fail(
            "tls_server_config.client_ca_file",
            f"missing: client_auth_type {auth} needs the CA of the client certificates"
            + (
                " (client certificates are always verified here)"
                if auth == "RequireAnyClientCert"
                else ""
            ),
        )
    elif not CLIENT_AUTH[auth][1] and s.get("client_ca_file") is not None:
        check.fail(
            "tls_server_config.client_ca_file",
            "set, but client_auth_type is "
            "NoClientCert; use RequireAndVerifyClientCert to verify clients",
        )
    return auth


def _context(check: Checker, s: Mapping[str, Any], files: dict[str, Path]) -> TLSSettings | None:
    """Validate a non-empty ``tls_server_config`` and build the server SSLContext."""
    before = len(check.problems)
    auth = _client_auth(check, s)
    low = _version(check, s, "min_version", "TLS12")
    high = _version(check, s, "max_version", "TLS13")
    if TLS_VERSIONS[low] > TLS_VERSIONS[high]:
        check.fail("tls_server_config.max_version", f"{high} is below min_version {low}")
    if len(check.problems) > before or not {"cert_file", "key_file"} <= files.keys():
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = TLS_VERSIONS[low], TLS_VERSIONS[high]
    ctx.verify_mode = CLIENT_AUTH[auth][0]
    cert, key = files["cert_file"], files["key_file"]
    try:
        ctx.load_cert_chain(cert, key, password=_no_password)
    except (ssl.SSLError, ValueError) as exc:
        check.fail(
            "tls_server_config",
            f"cert_file {str(cert)!r} and key_file {str(key)!r} "
            f"do not form a valid pair: {getattr(exc, 'reason', None) or exc}",
        )
    if "client_ca_file" in files:
        try:
            ctx.load_verify_locations(files["client_ca_file"])
        except ssl.SSLError as exc:
            check.fail(
                "tls_server_config.client_ca_file", f"invalid CA certificate: {exc.reason or exc}"
            )
    return TLSSettings(ctx, auth, low)


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
    top = _known(check, data, "", _TOP_KEYS, _UNSUPPORTED_TOP)
    tls_section = _known(
        check, top.get("tls_server_config"), "tls_server_config", _TLS_KEYS, _UNSUPPORTED_TLS
    )
    tls, files = None, {}
    if any(tls_section.get(k) is not None for k in _TLS_KEYS):
        files = _files(check, tls_section, base_dir or Path.cwd())
        tls = _context(check, tls_section, files)
    users = _users(check, top.get("basic_auth_users"))
    if check.problems:
        raise ConfigError(check.problems)
    return WebSecurity(
        source=source,
        tls=tls,
        users=users,
        files=tuple(files.values()),
        warnings=tuple(f"{source}: {w}" for w in cost_warnings(users)),
    )


def load(path: str | Path) -> WebSecurity:
    """Read and validate the web config file at ``path``; files are relative to it."""
    p = Path(path)
    data = load_yaml(p, what="web config file", limit=MAX_FILE_BYTES)
    return parse(data, source=str(p), base_dir=p.parent)
