"""The simulated gateway's test helpers: golden-account signing, a client, the golden fleet's
cn-bj2 buckets. ``sim`` and ``client`` are fixtures (registered in tests/conftest.py)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PUBLIC_KEY,
    Simulator,
    golden_fleet,
    sign,
)

LIST = "GetImageBucketList"
TLS = ssl.create_default_context()  # shared: building one per httpx.Client is slow
LONG_NAME = ("uhub.service.ucloud.cn/golden/" + "very-long-name-" * 13 + "x" * 220)[:220]
GOLDEN_BJ2 = [
    ('golden/quote"name', "Private", 3, 1_600_000_000, False),
    ("golden\\back\\slash", "Public", 0, 1_600_000_100, False),
    ("golden/new\nline", "Private", 7, 1_600_000_200, False),
    ("ucsdr.ucloud.cn:5000/ucs/helloworld:6", "Public", 10, 1_234_567_890, True),
    ("镜像仓库/测试", "Private", 42, 1_650_000_000, False),
    (LONG_NAME, "Public", 500, 1_700_000_000, False),
]


def signed(params: dict[str, Any], *, private_key: str = GOLDEN_PRIVATE_KEY) -> dict[str, Any]:
    """Return params plus PublicKey (golden default) and a valid Signature."""
    full = {"PublicKey": GOLDEN_PUBLIC_KEY, **params}
    return {**full, "Signature": sign(full, private_key)}


def listing(**params: Any) -> dict[str, Any]:
    """Return signed GetImageBucketList parameters for the golden account."""
    return signed({"Action": LIST, **params})


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(golden_fleet()) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5, verify=TLS) as http:
        yield http


def post(client: httpx.Client, params: dict[str, Any]) -> dict[str, Any]:
    """POST form-encoded parameters and return the decoded JSON (asserting HTTP 200)."""
    response = client.post("/", data=params)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [item["BucketName"] for item in body["ImageSet"]]
