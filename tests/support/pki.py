"""A test PKI (CA, server and client certificates) and web-config files, for TLS tests."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_TIMEOUT = 10


def issue(
    path: Path,
    name: str,
    *,
    issuer: tuple[x509.Certificate, Any] | None = None,
    ca: bool = False,
    server: bool = False,
    bare: bool = False,
) -> tuple[x509.Certificate, Any]:
    """Write ``name.crt``/``name.key`` under ``path``, signed by ``issuer`` or self-signed.

    The extensions are those a real CA writes (the ``cryptography`` docs' CA example):
    BasicConstraints (critical), KeyUsage (critical), SubjectKeyIdentifier and
    AuthorityKeyIdentifier on every certificate, ExtendedKeyUsage on leaves. Python 3.13's
    default context (``VERIFY_X509_STRICT``) refuses a chain without the key identifiers.
    ``bare`` leaves out the key identifiers and a leaf's KeyUsage, as certificates made by
    hand often do: for the test that shows such a chain refused.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca or not bare:
        builder = builder.add_extension(_key_usage(ca=ca), critical=True)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    if not bare:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        ).add_extension(_authority_key_id(issuer[0] if issuer else None, key), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (path / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Return a CA's key usage (signs certificates and CRLs) or a leaf's (ECDSA handshakes)."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_id(
    issuer: x509.Certificate | None, key: ec.EllipticCurvePrivateKey
) -> x509.AuthorityKeyIdentifier:
    """Return the AuthorityKeyIdentifier naming ``issuer``'s key (``key``'s own if self-signed)."""
    if issuer is None:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def web_config(tmp_path: Path, data: dict[str, Any]) -> str:
    """Write ``data`` as web.yml in its own directory (files are relative to it)."""
    path = web_dir(tmp_path) / "web.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def rel(pki: Path, name: str) -> str:
    """Return ``name`` in ``pki`` relative to a test's ``tmp_path / "web"`` directory."""
    return str(Path("..") / ".." / pki.name / name)


def web_dir(tmp_path: Path) -> Path:
    """Return (made) the directory that web configs of this test live in."""
    (tmp_path / "web").mkdir(exist_ok=True)
    return tmp_path / "web"


def tls_config(pki: Path, **extra: Any) -> dict[str, Any]:
    """Return a tls_server_config with paths relative to the web config directory."""
    return {"cert_file": rel(pki, "server.crt"), "key_file": rel(pki, "server.key"), **extra}


def client(
    pki: Path, cert: str | None = None, *, max_version: ssl.TLSVersion | None = None, **kw: Any
) -> httpx.Client:
    """Return an httpx client trusting the test CA, optionally with a client certificate."""
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        ctx.load_cert_chain(pki / f"{cert}.crt", pki / f"{cert}.key")
    if max_version:
        ctx.maximum_version = max_version
    return httpx.Client(verify=ctx, timeout=CLIENT_TIMEOUT, **kw)


def make_pki(d: Path) -> Path:
    """Write a CA, a server cert for 127.0.0.1, a client cert and two strangers into ``d``."""
    ca = issue(d, "ca", ca=True)
    issue(d, "server", issuer=ca, server=True)
    issue(d, "client", issuer=ca)
    issue(d, "stranger", issuer=issue(d, "other-ca", ca=True))
    issue(d, "selfsigned")
    return d


def make_bare_pki(d: Path) -> Path:
    """Write a CA and a server cert for 127.0.0.1 without key identifiers (``issue``'s bare)."""
    issue(d, "server", issuer=issue(d, "ca", ca=True, bare=True), server=True, bare=True)
    return d
