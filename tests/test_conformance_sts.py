"""STS ``AssumeRole``: ucloud-sdk-python3's ``STSClient.assume_role`` against our simulator,
and our ``exporter.ucloud._sts`` request against the SDK's on the wire.

The SDK's answer loads through its schema (``AssumeRoleResponseSchema``) with every field its
``CredentialsSchema`` requires; the key it got lists buckets through our client. Our request
for the same role is signed and encoded byte for byte as the SDK's (a recording proxy in
front of the simulator). The SDK has no metadata STS and no token signing: those are held
against ucloud-sdk-go's sources in the modules' docstrings instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ucloud.services.sts.client import STSClient
from ucloud.services.sts.schemas import apis as sts_schemas

from exporter.config import Account, Secret
from exporter.credentials import AssumeRole
from exporter.simulator import GOLDEN_PRIVATE_KEY, GOLDEN_PUBLIC_KEY, STS, Simulator
from exporter.ucloud._sts import parse_credentials
from tests.support.recorder import Recorder
from tests.support.temporary import ROLE_URN, assumed, sts_simulator

pytestmark = pytest.mark.e2e  # every test here starts a process

QUIET = logging.getLogger("tests.conformance.sts")
QUIET.setLevel(logging.WARNING)
ACCOUNT = Account(
    name="golden",
    public_key=GOLDEN_PUBLIC_KEY,
    private_key=Secret(GOLDEN_PRIVATE_KEY),
    project_id=None,
    regions=("cn-bj2",),
)
ROLE = AssumeRole(ROLE_URN, "conformance-session", 1800)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests (the SDK's transport) honours proxies: loopback goes direct."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def served() -> Iterator[tuple[Simulator, STS]]:
    with sts_simulator(lifetime=600) as pair:
        yield pair


def sdk(url: str) -> STSClient:
    config = {"base_url": url, "public_key": GOLDEN_PUBLIC_KEY,
              "private_key": GOLDEN_PRIVATE_KEY, "max_retries": 0, "timeout": 5}  # fmt: skip
    return STSClient(config, logger=QUIET)


def sdk_args(role: AssumeRole) -> dict[str, Any]:
    return {
        "RoleUrn": role.role_urn,
        "RoleSessionName": role.session_name,
        "DurationSeconds": role.duration_seconds,
    }


def test_sdk_assume_role_loads_through_its_schema(served: tuple[Simulator, STS]) -> None:
    sim, sts = served
    raw: list[dict[str, Any]] = []
    client = sdk(sim.url)

    def keep(data: dict[str, Any], response: Any = None) -> dict[str, Any]:
        raw.append(data)
        return data

    client.middleware.response(keep)
    loaded = client.assume_role(sdk_args(ROLE))
    creds = loaded["Credentials"]
    schema = sts_schemas.AssumeRoleResponseSchema().fields["Credentials"]
    assert {k for k, f in schema.fields.items() if f.required} <= set(raw[0]["Credentials"])
    assert set(creds) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}
    assert all(isinstance(v, str) and v for v in creds.values())
    key = parse_credentials(raw[0])  # what our parser makes of the same answer
    assert key.public_key == creds["AccessKeyId"] and key.expires is not None
    assert time.time() + 500 < key.expires <= time.time() + 601
    assert sts.calls == {"AssumeRole": 1}


def test_our_assume_role_is_signed_and_encoded_as_the_sdks(served: tuple[Simulator, STS]) -> None:
    sim, _ = served
    with Recorder(sim.url) as recorder:
        key = assumed(recorder.url, ACCOUNT, ROLE)
        sdk(recorder.url).assume_role(sdk_args(ROLE))
        mine, theirs = recorder.take()
    assert key.token is not None
    assert mine.form["Action"] == "AssumeRole"
    assert set(mine.form) == {"Action", "RoleUrn", "RoleSessionName", "DurationSeconds",
                              "PublicKey", "Signature"}  # fmt: skip
    assert theirs.form == mine.form  # the same Signature over the same fields
    assert theirs.pairs == mine.pairs  # each encoded byte for byte (the URN's ':' and '/')
    assert (theirs.method, theirs.path) == (mine.method, mine.path) == ("POST", "/")
