"""--web.config.file: real TLS, client certificates and basic auth on the exporter process."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import bcrypt
import httpx
import pytest
import yaml

from exporter.web import webconfig
from tests.support.pki import CLIENT_TIMEOUT, client, rel, tls_config, web_config, web_dir
from tests.support.procs import config_for, golden_account, run_cli

PASSWORD = "s3cret-pässword"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture
def secured(simulator, start_exporter, tmp_path):
    """Start an exporter against the simulator with ``data`` as its web config."""

    def start(data: dict[str, Any]):
        return start_exporter(
            config_for(simulator.url, [golden_account()]),
            "--web.config.file",
            web_config(tmp_path, data),
        )

    return start


def refused(call: Callable[[], httpx.Response]) -> bool:
    """Return whether ``call`` failed at the transport level or got no 200."""
    try:
        return call().status_code != 200
    except httpx.TransportError:
        return True


@pytest.mark.e2e
def test_tls_with_basic_auth_and_a_silent_client(secured, pki):
    exp = secured({"tls_server_config": tls_config(pki), "basic_auth_users": {"alice": HASH}})
    url = f"https://127.0.0.1:{exp.port}"
    silent = socket.create_connection(("127.0.0.1", exp.port), timeout=5)
    try:  # connected, sends nothing: must not hold up anyone else
        with client(pki, auth=("alice", PASSWORD)) as c:
            start = time.monotonic()
            response = c.get(url + "/metrics")
            assert response.status_code == 200, response.text
            assert time.monotonic() - start < 5
            assert "ucloud_image_buckets{" in response.text
            assert c.get(url + "/-/healthy").status_code == 200
        with client(pki) as c:
            anonymous = c.get(url + "/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="ucloud-image-exporter"'
    finally:
        silent.close()
    with pytest.raises(httpx.ConnectError):  # not our CA: the client refuses the server
        httpx.get(url + "/metrics", timeout=CLIENT_TIMEOUT)
    assert refused(
        lambda: httpx.get(
            f"http://127.0.0.1:{exp.port}/metrics", auth=("alice", PASSWORD), timeout=CLIENT_TIMEOUT
        )
    )
    logs = exp.logs()
    assert "TLS is enabled" in logs and "basic authentication is enabled" in logs
    assert "Traceback" not in logs  # failed handshakes are asyncio's to drop, quietly
    assert PASSWORD not in logs and HASH not in logs


@pytest.mark.e2e
def test_min_version_tls13_refuses_a_tls12_client(secured, pki):
    exp = secured({"tls_server_config": tls_config(pki, min_version="TLS13")})
    url = f"https://127.0.0.1:{exp.port}/-/healthy"
    with client(pki, max_version=ssl.TLSVersion.TLSv1_2) as old, pytest.raises(httpx.ConnectError):
        old.get(url)
    with client(pki) as c:
        assert c.get(url).status_code == 200
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    with (
        socket.create_connection(("127.0.0.1", exp.port), timeout=CLIENT_TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.3"
    assert "Traceback" not in exp.logs()


@pytest.mark.e2e
def test_require_and_verify_client_cert(secured, pki):
    exp = secured(
        {
            "tls_server_config": tls_config(
                pki,
                client_auth_type="RequireAndVerifyClientCert",
                client_ca_file=rel(pki, "ca.crt"),
            )
        }
    )
    url = f"https://127.0.0.1:{exp.port}/metrics"
    for cert in (None, "stranger", "selfsigned"):
        with client(pki, cert) as c, pytest.raises(httpx.TransportError):
            c.get(url)
    with client(pki, "client") as c:
        response = c.get(url)
    assert response.status_code == 200 and "ucloud_image_bucket_up{" in response.text
    assert "Traceback" not in exp.logs()


@pytest.mark.e2e
def test_basic_auth_on_every_endpoint(secured):
    other = bcrypt.hashpw(b"bobs-password", bcrypt.gensalt(rounds=4)).decode()
    exp = secured({"basic_auth_users": {"alice": HASH, "bob": other}})
    for path in ("/metrics", "/", "/-/healthy", "/-/ready", "/probe?account=golden"):
        assert exp.get(path, auth=("alice", PASSWORD)).status_code == 200, path
        assert exp.get(path, auth=("bob", "bobs-password")).status_code == 200, path
        missing = exp.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["WWW-Authenticate"] == 'Basic realm="ucloud-image-exporter"'
    assert exp.get("/nope", auth=("alice", PASSWORD)).status_code == 404
    assert exp.get("/nope").status_code == 401
    for user, password in (
        ("alice", "wrong"),
        ("alice", "bobs-password"),
        ("mallory", PASSWORD),
        ("", ""),
        ("alice", PASSWORD + "x"),
    ):
        assert exp.get("/metrics", auth=(user, password)).status_code == 401, (user, password)
    bearer = exp.get("/metrics", headers={"Authorization": "Bearer abc"})
    assert bearer.status_code == 401
    garbage = exp.get("/metrics", headers={"Authorization": "Basic %%%"})
    assert garbage.status_code == 401
    logs = exp.logs()
    assert "Traceback" not in logs and PASSWORD not in logs and "bobs-password" not in logs


@pytest.mark.e2e
def test_mixed_or_high_costs_warn_at_start(simulator, start_exporter, tmp_path):
    high = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=13)).decode()
    warned = webconfig.parse(
        {"basic_auth_users": {"alice": HASH, "bob": high}}, source="web.yml"
    ).warnings
    assert len(warned) == 2
    assert warned[0].startswith("web.yml: basic_auth_users.bob: bcrypt cost 13 is above 12")
    assert warned[1].startswith("web.yml: basic_auth_users: mixed bcrypt costs (alice=4, bob=13)")
    assert webconfig.parse({"basic_auth_users": {"alice": HASH, "bob": HASH}}).warnings == ()
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]),
        "--web.config.file",
        web_config(tmp_path, {"basic_auth_users": {"alice": HASH, "bob": high}}),
    )
    assert exp.logs().count("level=warn ") == 2 and "mixed bcrypt costs" in exp.logs()
    assert high not in exp.logs()


@pytest.mark.e2e
def test_bad_web_config_exits_1_at_start_and_in_check(simulator, tmp_path, pki):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config_for(simulator.url, [golden_account()])))
    bad = web_config(
        tmp_path,
        {
            "tls_server_config": {"cert_file": "absent.crt", "key_file": "absent.key"},
            "basic_auth_users": {"alice": "nope"},
        },
    )
    for extra in (("--config.check",), ("--web.listen-address", "127.0.0.1:0")):
        result = run_cli("--config.file", str(cfg), "--web.config.file", bad, *extra)
        assert result.returncode == 1, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 3, lines
        assert lines[0].startswith(f"{bad}: tls_server_config.cert_file: cannot read ")
        assert lines[0].endswith(f"{tmp_path / 'web' / 'absent.crt'}': No such file or directory")
        assert lines[2] == f"{bad}: basic_auth_users.alice: " + lines[2].split(": ", 2)[2]
        assert "Traceback" not in result.stderr
    missing = run_cli("--config.file", str(cfg), "--web.config.file", str(tmp_path / "no.yml"))
    assert missing.returncode == 1 and "cannot read web config file" in missing.stderr
    good = web_config(tmp_path, {"tls_server_config": tls_config(pki)})
    ok = run_cli("--config.file", str(cfg), "--web.config.file", good, "--config.check")
    assert ok.returncode == 0, ok.stderr
    assert (
        f"{good}: OK (TLS (min TLS12, client certificates: NoClientCert), no basic auth)"
        in ok.stdout
    )


@pytest.mark.e2e
def test_missing_bcrypt_is_a_config_error(tmp_path):
    web = web_config(tmp_path, {"basic_auth_users": {"alice": HASH}})
    code = (
        "import sys; sys.modules['bcrypt'] = None\n"  # as if bcrypt were not installed
        "from exporter.web import webconfig\n"
        f"webconfig.load({web!r})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1
    assert (
        "basic_auth_users: needs the bcrypt package: pip install 'ucloud-image-exporter[auth]'"
    ) in result.stderr


@pytest.mark.e2e
def test_handshake_runs_off_the_accept_loop_with_a_timeout(pki, tmp_path):
    from exporter.web.server import Limits, serve
    from exporter.web.watch import LiveWebConfig

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["scheme"].encode()})

    security = webconfig.parse({"tls_server_config": tls_config(pki)}, base_dir=web_dir(tmp_path))
    server = serve(
        app, "127.0.0.1:0", LiveWebConfig("", security), limits=Limits(tls_handshake_timeout=0.5)
    )
    try:
        silent = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        with client(pki) as c:
            response = c.get(f"https://127.0.0.1:{server.server_port}/")
        assert response.status_code == 200 and response.text == "https"
        start = time.monotonic()
        assert silent.recv(1) == b""  # the server gave up on the silent client
        assert 0 < time.monotonic() - start < 3
        silent.close()
    finally:
        server.shutdown()
        server.server_close()
