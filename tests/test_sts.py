"""STS AssumeRole through our client, and the simulator's SecurityToken checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.config import Account, Secret, UCloudSettings
from exporter.credentials import AssumeRole, Key
from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    STS,
    Simulator,
    golden_fleet,
)
from exporter.ucloud import APIError, CredentialsError, UCloudClient
from exporter.ucloud._auth import signed_form
from exporter.ucloud._errors import DecodeError
from exporter.ucloud._sts import parse_credentials
from tests.support.process import simulator_cli
from tests.support.temporary import assumed

ROOT = Path(__file__).resolve().parent.parent
URN = "ucs:iam::100:role/image-reader"
GOLDEN = Account(
    name="g",
    public_key=GOLDEN_PUBLIC_KEY,
    private_key=Secret(GOLDEN_PRIVATE_KEY),
    project_id=GOLDEN_PROJECT,
    regions=("cn-bj2",),
)
LIST = {"Action": "GetImageBucketList", "Region": "cn-bj2", "ProjectId": GOLDEN_PROJECT}


def _none(action: str, reason: str | None) -> None:
    del action, reason


def call(sim: Simulator, params: dict[str, Any], key: Key) -> dict[str, Any]:
    """Send ``params`` signed with ``key``; return the answer (RetCode 0) or raise APIError."""

    async def go() -> dict[str, Any]:
        client = UCloudClient(UCloudSettings(base_url=sim.url, retries=0))
        try:
            return await client.call(
                GOLDEN, params, deadline=time.monotonic() + 5, observe=_none, parse=dict, key=key
            )
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture
def served() -> Iterator[tuple[Simulator, STS]]:
    fleet = golden_fleet()
    sts = STS(fleet, role_urns={URN: GOLDEN_PUBLIC_KEY}, lifetime=60)
    with Simulator(fleet, sts=sts) as sim:
        yield sim, sts


@pytest.mark.e2e
def test_assume_role_gives_a_key_that_lists_with_its_token(served) -> None:
    sim, sts = served
    key = assumed(sim.url, GOLDEN, AssumeRole(URN))
    assert key.token is not None and key.expires is not None
    assert time.time() + 50 < key.expires <= time.time() + 61  # the simulator's lifetime
    assert call(sim, LIST, key)["TotalCount"] == 6
    assert sts.calls == {"AssumeRole": 1}


@pytest.mark.e2e
def test_a_gateway_refusing_assume_role_is_an_api_error(served) -> None:
    sim, _ = served
    with pytest.raises(APIError) as caught:
        assumed(sim.url, GOLDEN, AssumeRole("ucs:iam::100:role/nobody"))
    assert (caught.value.code, caught.value.message) == (230, "Params [RoleUrn] not valid")
    assert caught.value.action == "AssumeRole"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("token", "expected"),
    [(None, (171, "security token invalid")), ("wrong", (171, "security token invalid"))],
)
def test_a_temporary_key_without_its_token_is_refused(served, token, expected) -> None:
    sim, _ = served
    key = assumed(sim.url, GOLDEN, AssumeRole(URN))
    bad = Key(key.public_key, key.private_key, None if token is None else Secret(token))
    with pytest.raises(APIError) as caught:
        call(sim, LIST, bad)
    assert (caught.value.code, caught.value.message) == expected
    assert caught.value.is_auth


@pytest.mark.e2e
def test_an_expired_temporary_key_is_refused(served) -> None:
    sim, sts = served
    sts.lifetime = 1
    key = assumed(sim.url, GOLDEN, AssumeRole(URN))
    time.sleep(max(0.0, (key.expires or 0) - time.time()) + 0.05)
    with pytest.raises(APIError) as caught:
        call(sim, LIST, key)
    assert (caught.value.code, caught.value.message) == (174, "security token expired")


def test_the_token_is_a_signed_parameter() -> None:
    with_token = signed_form({"Action": "X"}, "pub", Secret("priv"), token=Secret("tok"))
    without = signed_form({"Action": "X", "SecurityToken": "tok"}, "pub", Secret("priv"))
    # sent and signed exactly as any other parameter (the Signature covers it)
    assert dict(parse_qsl(with_token.decode())) == dict(parse_qsl(without.decode()))
    assert dict(parse_qsl(with_token.decode()))["SecurityToken"] == "tok"


def test_the_client_sends_nothing_for_a_temporary_account_without_a_provider() -> None:
    account = Account(
        name="t",
        public_key="",
        private_key=Secret(""),
        project_id=None,
        regions=("r",),
        assume_role=AssumeRole(URN),
    )

    async def go() -> None:
        client = UCloudClient(UCloudSettings(base_url="http://127.0.0.1:9/"))
        try:
            await client.call(
                account, LIST, deadline=time.monotonic() + 1, observe=_none, parse=dict
            )
        finally:
            await client.aclose()

    with pytest.raises(CredentialsError) as caught:
        asyncio.run(go())
    assert caught.value.reason == "credentials" and caught.value.action == "GetImageBucketList"


@pytest.mark.parametrize(
    ("creds", "problem"),
    [
        (None, "no Credentials object"),
        ({"AccessKeySecret": "s", "SecurityToken": "t", "Expiration": "2099-01-01T00:00:00Z"},
         "no Credentials.AccessKeyId"),
        ({"AccessKeyId": "a", "AccessKeySecret": "s", "SecurityToken": "t", "Expiration": "soon"},
         "Credentials.Expiration 'soon' is not an ISO 8601 time"),
        ({"AccessKeyId": "a", "AccessKeySecret": "s", "SecurityToken": "t",
          "Expiration": "2001-01-01T00:00:00Z"}, "a key that expired already"),
    ],
)  # fmt: skip
def test_malformed_credentials_are_decode_errors_without_values(creds, problem) -> None:
    with pytest.raises(DecodeError, match=problem) as caught:
        parse_credentials({"RetCode": 0, "Credentials": creds})
    assert '"s"' not in str(caught.value) and "'t'" not in str(caught.value)


@pytest.mark.e2e
def test_the_simulator_cli_serves_instance_roles_with_their_lifetime() -> None:
    roles = ["--instance-role", f"r={GOLDEN_PUBLIC_KEY}", "--key-lifetime", "60"]
    with simulator_cli("--fleet", "golden", *roles, "--metadata-v1-only") as (_, url):
        v2 = httpx.get(url + "meta-data/v2/iam/security-credentials/r", timeout=5)
        assert v2.status_code == 404  # v1 only
        data = httpx.get(url + "meta-data/v1/uam/security-credentials/r", timeout=5).json()
        assert data["RetCode"] == 0 and time.time() < data["Data"]["Expiration"] <= time.time() + 61
