"""--web.config.file parsed in process: every problem at once, with its key path."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from exporter.config import ConfigError
from exporter.web import webconfig
from tests.support.pki import rel, tls_config, web_dir

PASSWORD = "s3cret-pässword"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def problems(data: Any, base: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        webconfig.parse(data, source="web.yml", base_dir=base)
    return info.value.problems


def test_every_problem_at_once(pki, tmp_path):
    (tmp_path / "notpem.crt").write_text("hello")
    found = problems(
        {
            "tls_server_config": {
                "cert_file": "notpem.crt",
                "key_file": "absent.key",
                "client_auth_type": "Sometimes",
                "max_version": "TLS11",
                "cipher_suites": ["X"],
                "bogus": 1,
            },
            "basic_auth_users": {"alice": "plaintext-password", "bob": 3},
            "http_server_config": {"http2": 0},
            "extra": True,
        },
        tmp_path,
    )
    text = "\n".join(found)
    for expected in (
        "web.yml: tls_server_config.cert_file: no PEM certificate in ",
        "web.yml: tls_server_config.key_file: cannot read ",
        "web.yml: tls_server_config.client_auth_type: invalid ClientAuth 'Sometimes': one of "
        "NoClientCert, ",
        "web.yml: tls_server_config.max_version: TLS11: TLS 1.0 and 1.1 are not supported",
        "web.yml: tls_server_config.cipher_suites[0]: unknown cipher 'X' (known: ",
        "web.yml: tls_server_config.bogus: unknown key (allowed: cert, key, ",
        "web.yml: basic_auth_users.alice: must be a bcrypt hash",
        "web.yml: basic_auth_users.bob: must be a bcrypt hash",
        "web.yml: http_server_config.http2: must be true or false, got int",
        "web.yml: extra: unknown key (allowed: tls_server_config, http_server_config, "
        "rate_limit, basic_auth_users)",
    ):
        assert expected in text, (expected, found)
    assert len(found) == 10 and "plaintext-password" not in text
    ca = str(pki / "ca.crt")
    for tls, expected in (
        (
            {"cert_file": str(pki / "server.crt"), "key_file": str(pki / "client.key")},
            "tls_server_config: cert_file ",
        ),
        (
            {"key_file": str(pki / "server.key")},
            "tls_server_config.cert_file: missing one of cert or cert_file",
        ),
        (
            {
                "cert_file": str(pki / "server.crt"),
                "key_file": str(pki / "server.key"),
                "client_ca_file": ca,
            },
            "client_auth_type is NoClientCert",
        ),
        (
            {
                "cert_file": str(pki / "server.crt"),
                "key_file": str(pki / "server.key"),
                "client_auth_type": "RequireAnyClientCert",
            },
            "tls_server_config.client_auth_type: RequireAnyClientCert without client_ca_file "
            "or client_ca cannot be honoured: Python's ssl cannot ask for a client certificate "
            "without verifying it",
        ),
        (
            {
                "cert_file": str(pki / "server.crt"),
                "key_file": str(pki / "server.key"),
                "min_version": "TLS13",
                "max_version": "TLS12",
            },
            "below min_version",
        ),
    ):
        assert expected in "\n".join(problems({"tls_server_config": tls}, tmp_path)), tls


def test_valid_configs_parse(pki, tmp_path):
    (tmp_path / "broken.yml").write_text("tls_server_config: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yml: invalid YAML at line 2, column 1"):
        webconfig.load(tmp_path / "broken.yml")
    assert webconfig.parse(None).tls is None
    assert webconfig.parse({"tls_server_config": {}}).tls is None
    sec = webconfig.parse(
        {
            "tls_server_config": tls_config(
                pki, client_auth_type="VerifyClientCertIfGiven", client_ca_file=rel(pki, "ca.crt")
            ),
            "basic_auth_users": {"alice": HASH},
        },
        base_dir=web_dir(tmp_path),
    )
    assert sec.tls is not None and sec.tls.context.verify_mode == ssl.CERT_OPTIONAL
    assert sec.describe() == (
        "TLS (min TLS12, client certificates: VerifyClientCertIfGiven), basic auth for 1 users"
    )
    assert HASH not in repr(sec)
