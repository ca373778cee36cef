"""--web.config.file at run time: reloads with real TLS clients, file checks, flags, auth load."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import ssl
import threading
import time
from pathlib import Path

import bcrypt
import httpx
import pytest
import yaml

from exporter.web.watch import LiveWebConfig
from exporter.web.webconfig import load
from tests.support.pki import issue
from tests.support.procs import config_for, golden_account, run_cli
from tests.support.realparts import poll

pytestmark = pytest.mark.e2e  # every test here starts a process

PASSWORD = "pw-" + "x" * 8


def _hash(password: str, cost: int = 4) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()


def _serial(port: int, ca: Path) -> int:
    """Return the serial number of the certificate the server presents now."""
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return int(tls.getpeercert()["serialNumber"], 16)  # type: ignore[index,arg-type]


def _status(url: str, ca: Path, user: str) -> int:
    ctx = ssl.create_default_context(cafile=str(ca))
    return httpx.get(url, verify=ctx, auth=(user, PASSWORD), timeout=10).status_code


def test_rotated_certificate_and_changed_users_take_effect_without_restart(
    simulator, start_exporter, tmp_path
):
    d = tmp_path / "pki"
    d.mkdir()
    ca = issue(d, "ca", ca=True)
    first, _ = issue(d, "server", issuer=ca, server=True)
    web = tmp_path / "web.yml"
    tls = {"cert_file": "pki/server.crt", "key_file": "pki/server.key"}
    web.write_text(
        yaml.safe_dump({"tls_server_config": tls, "basic_auth_users": {"alice": _hash(PASSWORD)}})
    )
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]),
        "--web.config.file",
        str(web),
        "--web.enable-lifecycle",
    )
    url = f"https://127.0.0.1:{exp.port}/-/healthy"
    assert _serial(exp.port, d / "ca.crt") == first.serial_number
    assert _status(url, d / "ca.crt", "alice") == 200

    second, _ = issue(d, "server", issuer=ca, server=True)  # cert-manager rotates the files
    poll(
        lambda: _serial(exp.port, d / "ca.crt"),
        lambda s: s == second.serial_number,
        timeout=10,
        interval=0.2,
        what="the rotated certificate",
    )

    before = web.stat()
    web.write_text(
        yaml.safe_dump({"tls_server_config": tls, "basic_auth_users": {"carol": _hash(PASSWORD)}})
    )
    # Same inode, size and mtime: the watcher cannot see this change, only SIGHUP can.
    assert web.stat().st_size == before.st_size
    os.utime(web, ns=(before.st_atime_ns, before.st_mtime_ns))
    time.sleep(3)  # longer than the watcher's interval
    assert _status(url, d / "ca.crt", "alice") == 200
    exp.proc.send_signal(signal.SIGHUP)
    poll(
        lambda: (_status(url, d / "ca.crt", "carol"), _status(url, d / "ca.crt", "alice")),
        lambda s: s == (200, 401),
        timeout=10,
        interval=0.2,
        what="the new users",
    )

    web.write_text("tls_server_config: [broken\n")
    reload = httpx.post(
        f"https://127.0.0.1:{exp.port}/-/reload",
        auth=("carol", PASSWORD),
        verify=ssl.create_default_context(cafile=str(d / "ca.crt")),
        timeout=10,
    )
    assert reload.status_code == 500
    assert _status(url, d / "ca.crt", "carol") == 200  # the old configuration keeps serving
    assert _serial(exp.port, d / "ca.crt") == second.serial_number
    logs = exp.logs()
    assert "web config reload rejected, keeping the running one" in logs
    assert "invalid YAML" in logs and "Traceback" not in logs


@pytest.mark.parametrize("kind", ["fifo", "big", "device"])
def test_key_file_must_be_a_small_regular_file(tmp_path, pki, kind):
    key = tmp_path / "server.key"
    if kind == "fifo":
        os.mkfifo(key)
    elif kind == "big":  # a real key, then 300 MB of holes
        key.write_bytes((pki / "server.key").read_bytes())
        with key.open("r+b") as f:
            f.truncate(300 * 1024 * 1024)
    else:
        key = Path("/dev/null")
    web = tmp_path / "web.yml"
    web.write_text(
        yaml.safe_dump(
            {"tls_server_config": {"cert_file": str(pki / "server.crt"), "key_file": str(key)}}
        )
    )
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config_for("http://127.0.0.1:9", [golden_account()])))
    start = time.monotonic()
    result = run_cli("--config.file", str(cfg), "--web.config.file", str(web), "--config.check")
    assert time.monotonic() - start < 5
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{web}: tls_server_config.key_file: cannot read '{key}': ")
    assert lines[0].endswith(
        "not a regular file" if kind != "big" else "larger than 64 KiB (314572800 bytes)"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--web.telemetry-path", "/"],
        ["--web.telemetry-path", "/probe"],
        ["--web.telemetry-path", "/-/reload"],
        ["--web.telemetry-path", "/-/healthy"],
        ["--web.telemetry-path", "/-/other"],
        ["--web.max-connections", "0"],
        ["--web.max-requests", "-1"],
        ["--web.read-header-timeout", "0"],
        ["--web.read-timeout", "nan"],
    ],
)
def test_flags_that_would_shadow_an_endpoint_or_disable_a_limit(argv):
    result = run_cli(*argv, "--config.check")
    assert result.returncode == 2
    assert f"argument {argv[0]}: " in result.stderr.splitlines()[-1]


def test_unknown_users_do_not_stall_a_cached_valid_user(simulator, start_exporter, tmp_path):
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"alice": _hash(PASSWORD, 12)}}))
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]), "--web.config.file", str(web)
    )
    assert exp.get("/metrics", auth=("alice", PASSWORD)).status_code == 200  # now cached
    barrier = threading.Barrier(51)
    statuses: list[int] = []
    done: list[float] = []

    def attacker(client: httpx.Client) -> None:
        barrier.wait(10)
        response = client.get(
            exp.url + "/-/healthy", auth=(secrets.token_hex(4), secrets.token_hex(8))
        )
        statuses.append(response.status_code)
        done.append(time.monotonic())

    clients = [httpx.Client(timeout=30) for _ in range(51)]  # made before: TLS setup is slow
    threads = [threading.Thread(target=attacker, args=(c,)) for c in clients[1:]]
    for t in threads:
        t.start()
    barrier.wait(10)
    start = time.monotonic()
    time.sleep(0.1)
    valid = clients[0].get(exp.url + "/metrics", auth=("alice", PASSWORD))
    took = time.monotonic() - start - 0.1
    for t in threads:
        t.join(60)
    for c in clients:
        c.close()
    assert valid.status_code == 200 and took < 1, took
    assert set(statuses) <= {401, 503} and len(statuses) == 50
    # Unknown users cost a cost-10 check each, in parallel (about 2 s on 2 cores); not 50
    # cost-12 checks in a row (about 14 s). 10 s leaves room for a loaded CI machine.
    assert max(done) - start < 10, max(done) - start


def test_client_certificates_required_after_a_reload(simulator, start_exporter, tmp_path, pki):
    web = tmp_path / "web.yml"
    tls = {"cert_file": str(pki / "server.crt"), "key_file": str(pki / "server.key")}
    web.write_text(yaml.safe_dump({"tls_server_config": tls}))
    exp = start_exporter(
        config_for(simulator.url, [golden_account()]), "--web.config.file", str(web)
    )
    url = f"https://127.0.0.1:{exp.port}/-/healthy"

    def status(cert: str | None) -> int:
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        if cert:
            ctx.load_cert_chain(pki / f"{cert}.crt", pki / f"{cert}.key")
        try:
            return httpx.get(url, verify=ctx, timeout=10).status_code
        except httpx.TransportError:
            return 0

    assert status(None) == 200
    web.write_text(
        yaml.safe_dump(
            {
                "tls_server_config": {
                    **tls,
                    "client_auth_type": "RequireAndVerifyClientCert",
                    "client_ca_file": str(pki / "ca.crt"),
                }
            }
        )
    )
    exp.proc.send_signal(signal.SIGHUP)
    poll(
        lambda: status(None),
        lambda s: s == 0,
        timeout=10,
        interval=0.2,
        what="a client without a certificate refused",
    )
    assert status("client") == 200 and status("stranger") == 0


def test_a_reload_applies_cipher_preference_and_curve_to_the_listener(pki, tmp_path):
    path = tmp_path / "web.yml"

    def write(**tls: object) -> None:
        base = {"cert_file": str(pki / "server.crt"), "key_file": str(pki / "server.key")}
        path.write_text(yaml.safe_dump({"tls_server_config": {**base, **tls}}))

    write(prefer_server_cipher_suites=True)
    live = LiveWebConfig(str(path), load(str(path)))
    front = live.tls_context
    assert front is not None and front.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    write(prefer_server_cipher_suites=False, curve_preferences=["CurveP384"])
    assert live.reload()
    assert not front.options & ssl.OP_CIPHER_SERVER_PREFERENCE  # the listener's own context
    assert live.security is not None and live.security.tls is not None
    assert live.security.tls.curve == "secp384r1"
    write(prefer_server_cipher_suites=True)
    assert live.reload()
    assert front.options & ssl.OP_CIPHER_SERVER_PREFERENCE
