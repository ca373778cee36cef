"""The ``instance_role``, ``assume_role`` and ``ucloud.metadata_url`` keys: their problems,
their sources as --config.check names them (without reaching any), and the gateway default."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import config
from exporter.credentials import DEFAULT_METADATA_URL, INTERNAL_BASE_URL, AssumeRole
from tests.support.metadata import hostile
from tests.support.procs import run_cli
from tests.support.profiles import write_ucloud_home

URN = "ucs:iam::100:role/reader"


def parse(accounts: list[dict[str, Any]], env: dict[str, str] | None = None, **ucloud: Any):
    return config.parse({"ucloud": ucloud, "accounts": accounts}, env=env or {})


def problems(accounts: list[dict[str, Any]], **ucloud: Any) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        parse(accounts, **ucloud)
    return caught.value.problems


def acc(**keys: Any) -> dict[str, Any]:
    return {"name": "a", "regions": ["cn-bj2"], **keys}


def test_instance_role_defaults_and_source() -> None:
    a = parse([acc(instance_role=True)]).accounts[0]
    assert a.instance_role is not None and a.instance_role.role == ""
    assert a.credential_source == f"instance_role default (metadata {DEFAULT_METADATA_URL})"
    named = parse([acc(instance_role="reader")], metadata_url="http://127.0.0.1:1/").accounts[0]
    assert named.credential_source == "instance_role reader (metadata http://127.0.0.1:1)"


def test_assume_role_defaults_and_sources(tmp_path: Path) -> None:
    a = parse([acc(public_key="k", private_key="p", assume_role={"role_urn": URN})]).accounts[0]
    assert a.assume_role == AssumeRole(URN, "ucloud-image-exporter", 3600)
    assert a.credential_source == f"assume_role {URN} on static"
    credential, _ = write_ucloud_home(tmp_path)
    env = {"HOME": str(tmp_path)}
    on_profile = parse([acc(profile="default", assume_role={"role_urn": URN})], env=env)
    assert on_profile.accounts[0].credential_source == (
        f"assume_role {URN} on profile default ({credential})"
    )
    on_env = parse(
        [acc(assume_role={"role_urn": URN, "session_name": "me", "duration_seconds": 900})],
        env={"UCLOUD_PUBLIC_KEY": "k", "UCLOUD_PRIVATE_KEY": "p"},
    ).accounts[0]
    assert on_env.credential_source == f"assume_role {URN} on env"
    assert on_env.assume_role == AssumeRole(URN, "me", 900)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"public_key": "k", "private_key": "p", "assume_role": {"role_urn": URN,
          "duration_seconds": 60}},
         "accounts[0].assume_role.duration_seconds: must be 900-3600, got 60"),
        ({"instance_role": True, "assume_role": {"role_urn": URN, "duration_seconds": 3601}},
         "accounts[0].assume_role.duration_seconds: must be 900-3600, got 3601"),
        ({"instance_role": True, "assume_role": {}},
         "accounts[0].assume_role.role_urn: must be a role URN like ucs:iam::ID:role/NAME, "
         "got null"),
        ({"instance_role": True, "assume_role": {"role_urn": URN, "policy": "x"}},
         "accounts[0].assume_role.policy: unknown key (allowed: role_urn, session_name, "
         "duration_seconds)"),
        ({"instance_role": "a/b"},
         "accounts[0].instance_role: must be a role name (1-128 of A-Z a-z 0-9 _ . @ + = , -) "
         "or true, got 'a/b'"),
        ({"instance_role": "r", "public_key": "k", "private_key": "p"},
         "accounts[0].instance_role: set either instance_role or keys (public_key, private_key, "
         "their files, profile), not both"),
        ({"instance_role": True, "assume_role": "ucs:iam::1:role/x"},
         "accounts[0].assume_role: must be a mapping with role_urn, got str"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_key(keys: dict[str, Any], expected: str) -> None:
    assert problems([acc(**keys)]) == [f"config: {expected}"]


def test_a_bad_metadata_url_names_its_key() -> None:
    assert problems([acc(instance_role=True)], metadata_url="ftp://x") == [
        "config: ucloud.metadata_url: must be an http:// or https:// URL, got 'ftp://x'"
    ]


def test_instance_roles_default_to_the_internal_gateway_unless_one_is_set() -> None:
    roles = [acc(instance_role=True), acc(name="b", instance_role="r")]
    assert parse(roles).ucloud.base_url == INTERNAL_BASE_URL
    mixed = [*roles, acc(name="c", public_key="k", private_key="p")]
    assert parse(mixed).ucloud.base_url == "https://api.ucloud.cn"
    assert parse(roles, base_url="https://x.example").ucloud.base_url == "https://x.example"
    env = {"UCLOUD_API_BASE_URL": "https://env.example"}
    assert parse(roles, env=env).ucloud.base_url == "https://env.example"


@pytest.mark.e2e
def test_config_check_names_sources_and_reaches_none_of_them(tmp_path: Path) -> None:
    with hostile("stall", stall_seconds=20) as service:
        cfg = {
            "ucloud": {"base_url": service.url, "metadata_url": service.url},
            "accounts": [
                acc(name="inst", instance_role=True),
                acc(name="both", instance_role="r", assume_role={"role_urn": URN}),
                acc(name="static", public_key="k", private_key="p", assume_role={"role_urn": URN}),
            ],
        }
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(cfg))
        started = time.monotonic()
        out = run_cli("--config.file", str(path), "--config.check")
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - started < 15  # a stalled source would hold it 20 s
        assert service.calls == 0
    assert f"  inst: instance_role default (metadata {service.url});" in out.stdout
    assert f"  both: assume_role {URN} on instance_role r (metadata {service.url});" in out.stdout
    assert f"  static: assume_role {URN} on static;" in out.stdout
