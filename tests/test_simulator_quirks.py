"""The simulator's hostile modes (quirks), from fleet files, and the client against them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exporter.config import Account as ConfigAccount
from exporter.config import Secret, UCloudSettings
from exporter.simulator import Fault, Quirks, Simulator, fleet_from_dict, load_fleet, sign
from exporter.ucloud import UCloudClient, list_image_buckets

PUBLIC, PRIVATE = "quirky-public-key", "quirky-private-key"


def fleet_file(**regions: Any) -> dict[str, Any]:
    return {"accounts": [{"public_key": PUBLIC, "private_key": PRIVATE, "regions": regions}]}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    fleet = fleet_from_dict(
        fleet_file(
            **{
                "cn-bj2": {"synthetic": 5, "quirks": {"total_count": 100_000}},
                "cn-sh2": {"synthetic": 30, "quirks": {"ignore_offset": True}},
                "hk": {"synthetic": 30, "quirks": {"ignore_limit": True, "omit_total": True}},
                "sg": {"synthetic": 30, "quirks": {"page_entries": 25}},
                "cn-gd": {
                    "buckets": [
                        {"name": "zero", "images": 0, "created": 7},
                        {"name": "bad\ud800name", "type": "Public", "images": 2},
                    ],
                    "quirks": {"omit_zero": True, "omit_fields": ["BucketType"]},
                },
                "jpn-tky": {"synthetic": 1, "quirks": {"delay_seconds": 0.5}},
            }
        )
    )
    with Simulator(fleet) as simulator:
        yield simulator


def ask(sim: Simulator, region: str, **params: Any) -> tuple[bytes, dict[str, Any]]:
    form = {
        "Action": "GetImageBucketList",
        "PublicKey": PUBLIC,
        "Region": region,
        **{k: str(v) for k, v in params.items()},
    }
    form["Signature"] = sign(form, PRIVATE)
    raw = httpx.post(sim.url, data=form, timeout=5).content
    return raw, json.loads(raw)


def bucket_names(body: dict[str, Any]) -> list[str]:
    return [item["BucketName"] for item in body["ImageSet"]]


@pytest.mark.e2e
def test_lying_total_count(sim: Simulator) -> None:
    _, body = ask(sim, "cn-bj2", Offset=0, Limit=100)
    assert body["TotalCount"] == 100_000 and len(body["ImageSet"]) == 5


@pytest.mark.e2e
def test_ignored_offset(sim: Simulator) -> None:
    _, first = ask(sim, "cn-sh2", Offset=0, Limit=10)
    _, later = ask(sim, "cn-sh2", Offset=20, Limit=10)
    assert bucket_names(first) == bucket_names(later) == [f"bucket-{i:05d}" for i in range(1, 11)]


@pytest.mark.e2e
def test_ignored_limit_and_omitted_total(sim: Simulator) -> None:
    _, body = ask(sim, "hk", Offset=5, Limit=2)
    assert "TotalCount" not in body and len(body["ImageSet"]) == 25


@pytest.mark.e2e
def test_oversized_pages(sim: Simulator) -> None:
    _, body = ask(sim, "sg", Offset=0, Limit=2)
    assert body["TotalCount"] == 30 and len(body["ImageSet"]) == 25


@pytest.mark.e2e
def test_omitted_fields_and_lone_surrogates(sim: Simulator) -> None:
    raw, body = ask(sim, "cn-gd")
    assert b'"bad\\ud800name"' in raw  # legal JSON: an escaped lone surrogate
    assert body["ImageSet"] == [
        {"BucketName": "zero", "CreateTime": 7},
        {"BucketName": "bad\ud800name", "ImageCount": 2, "CreateTime": 1_735_689_600},
    ]


@pytest.mark.e2e
def test_delay(sim: Simulator) -> None:
    started = time.monotonic()
    ask(sim, "jpn-tky")
    assert time.monotonic() - started >= 0.5


@pytest.mark.e2e
def test_quirks_as_a_one_off_fault(sim: Simulator) -> None:
    sim.add_fault(Fault(quirks=Quirks(total_count=3), times=1), region="sg")
    assert ask(sim, "sg")[1]["TotalCount"] == 3
    assert ask(sim, "sg")[1]["TotalCount"] == 30


@pytest.mark.e2e
def test_lying_total_count_costs_at_most_twenty_calls(sim: Simulator) -> None:
    """The issue's example: TotalCount 100,000, 5 real buckets, default settings."""
    account = ConfigAccount(
        name="q",
        public_key=PUBLIC,
        private_key=Secret(PRIVATE),
        project_id=None,
        regions=("cn-bj2",),
    )

    async def go() -> int:
        client = UCloudClient(UCloudSettings(base_url=sim.url))
        try:
            listing = await list_image_buckets(
                client,
                account,
                "cn-bj2",
                deadline=time.monotonic() + 10,
                observe=lambda action, reason: None,
            )
        finally:
            await client.aclose()
        assert len(listing.buckets) == 5 and listing.inconsistencies == {"total_ahead"}
        return listing.requests

    sim.reset_counts()
    requests = asyncio.run(go())
    assert sim.request_count(region="cn-bj2") <= requests <= 20


def test_fleet_file_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "accounts:\n  - {public_key: p, private_key: s, regions: {hk: "
        '{buckets: [{name: "a\\ud800"}], quirks: {omit_total: true}}}}\n'
    )
    fleet = load_fleet(path)
    assert [b.name for b in fleet.buckets("p", "hk")] == ["a\ud800"]
    assert fleet.quirks("p", "hk") == Quirks(omit_total=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "fleet: must be a mapping"),
        ({"accounts": []}, "fleet: accounts: must be a non-empty list"),
        ({"accounts": [{"public_key": "p"}]}, "accounts[0]: public_key and private_key"),
        (fleet_file(hk={"synthetic": -1}), "accounts[0].regions.hk.synthetic: must be"),
        (fleet_file(hk={"quirks": {"lie": True}}), "regions.hk.quirks.lie: unknown quirk"),
        (fleet_file(hk={"quirks": {"total_count": -5}}), "regions.hk.quirks: total_count must"),
    ],
)
def test_fleet_file_errors_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        fleet_from_dict(data)
