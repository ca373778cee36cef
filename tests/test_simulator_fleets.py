"""The simulator's fleets (demo, synthetic, golden), its lifecycle and its hygiene."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import pytest

from exporter.simulator import (
    DEMO_ACCOUNTS,
    DEMO_PROJECT,
    FIXED_EPOCH,
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    REGION_IDS,
    Account,
    Bucket,
    Fleet,
    Simulator,
    demo_fleet,
    golden_fleet,
    sign,
    synthetic_fleet,
)
from tests.support.gateway import GOLDEN_BJ2, LIST, LONG_NAME, TLS, listing, post, signed
from tests.support.process import simulator_cli

ROOT = Path(__file__).resolve().parent.parent


# --- fleets ----------------------------------------------------------------------------------


def _snapshot(fleet: Fleet) -> dict[tuple[str, str], list[Bucket]]:
    return {(k, r): fleet.buckets(k, r) for k in fleet.public_keys() for r in fleet.regions(k)}


def test_demo_fleet_is_deterministic_and_believable() -> None:
    fleet = demo_fleet()
    assert _snapshot(fleet) == _snapshot(demo_fleet(seed=42))
    assert _snapshot(fleet) != _snapshot(demo_fleet(seed=7))
    assert 300 <= fleet.size() <= 1000
    for name, public_key, private_key, regions in DEMO_ACCOUNTS:
        account = fleet.account(public_key)
        assert account is not None
        assert (account.private_key, account.projects) == (private_key, {DEMO_PROJECT})
        assert tuple(account.regions) == regions
        for region, buckets in account.regions.items():
            low, high = (40, 250) if name == "main" else (1, 39)
            assert low <= len(buckets) <= high, (name, region)
            assert len({b.name for b in buckets}) == len(buckets)
            assert {b.type for b in buckets} == {"Private", "Public"}
            assert any(b.shared for b in buckets)
            assert all(b.type == "Public" for b in buckets if b.shared)
            assert all(0 <= b.image_count <= 500 for b in buckets)
            assert all(
                FIXED_EPOCH - 3 * 365 * 86400 <= b.create_time <= FIXED_EPOCH for b in buckets
            )
    counts = sorted(b.image_count for bs in _snapshot(fleet).values() for b in bs)
    assert counts[len(counts) // 2] < 50  # skewed small
    all_names = [b.name for bs in _snapshot(fleet).values() for b in bs]
    assert any(n.startswith("uhub.service.ucloud.cn/") and n.count("/") == 2 for n in all_names)
    assert any("/" not in n for n in all_names)
    assert [a[0] for a in DEMO_ACCOUNTS] == ["main", "staging"]


def test_synthetic_fleet_shape_and_speed() -> None:
    started = time.monotonic()
    big = synthetic_fleet(regions=32, buckets_per_region=10_000)
    assert time.monotonic() - started < 3
    assert big.size() == 320_000
    assert big.regions("bench-public-key") == list(REGION_IDS[:32])
    assert big.buckets("bench-public-key", "cn-bj1")[0].name == "bucket-00001"
    wide = synthetic_fleet(regions=35, buckets_per_region=1, public_key="p", private_key="s")
    assert wide.regions("p")[-2:] == ["cn-bj1-2", "cn-bj2-2"]
    assert len(set(wide.regions("p"))) == 35
    account = wide.account("p")
    assert account is not None and account.private_key == "s"


def test_golden_fleet_contents() -> None:
    fleet = golden_fleet()
    assert fleet.public_keys() == [GOLDEN_PUBLIC_KEY]
    account = fleet.account(GOLDEN_PUBLIC_KEY)
    assert account is not None
    assert (account.private_key, account.projects) == (GOLDEN_PRIVATE_KEY, {GOLDEN_PROJECT})
    assert list(account.regions) == ["cn-bj2", "cn-sh2", "hk"]
    assert [
        (b.name, b.type, b.image_count, b.create_time, b.shared) for b in account.regions["cn-bj2"]
    ] == GOLDEN_BJ2
    assert len(LONG_NAME) == 220
    assert [b.name for b in account.regions["cn-sh2"]] == [
        "golden/alpha",
        "golden/beta",
        "golden/gamma",
    ]
    assert {b.type for b in account.regions["cn-sh2"]} == {"Private", "Public"}
    assert account.regions["hk"] == []
    assert _snapshot(fleet) == _snapshot(golden_fleet())


def test_fleet_rejects_duplicate_keys() -> None:
    with pytest.raises(ValueError):
        Fleet([Account("k", "a"), Account("k", "b")])


# --- server lifecycle and hygiene ------------------------------------------------------------


@pytest.mark.e2e
def test_stop_closes_pooled_connections() -> None:
    simulator = Simulator(golden_fleet()).start()
    with httpx.Client(base_url=simulator.url, verify=TLS) as http:
        assert post(http, listing(Region="cn-sh2"))["RetCode"] == 0
        simulator.stop()
        simulator.stop()  # idempotent
        with pytest.raises(httpx.TransportError):
            http.post("/", data=listing(Region="cn-sh2"))


@pytest.mark.e2e
def test_logs_never_contain_secrets(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="exporter.simulator")
    params = listing(Region="cn-bj2")
    client.get("/", params=params)
    client.get("/", params=signed({"Action": LIST}, private_key="wrong"))
    assert caplog.records, "requests should be logged at DEBUG"
    assert params["Signature"] not in caplog.text
    assert "Signature" not in caplog.text
    assert GOLDEN_PRIVATE_KEY not in caplog.text


@pytest.mark.e2e
def test_cli_serves_until_sigterm() -> None:
    options = ["--regions", "2", "--buckets", "30", "--limit-clamp", "5"]
    with simulator_cli("--fleet", "synthetic", *options) as (proc, url):
        assert proc.stdout is not None
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        keys = dict(part.split("=", 1) for part in proc.stdout.readline().split())
        params = {"Action": LIST, "PublicKey": keys["public-key"], "Region": "cn-bj2"}
        params["Signature"] = sign(params, keys["private-key"])
        body = httpx.post(url, data=params, timeout=5, verify=TLS).json()
        assert (body["RetCode"], body["TotalCount"], len(body["ImageSet"])) == (0, 30, 5)


@pytest.mark.e2e
def test_json_round_trip_of_weird_names(client: httpx.Client) -> None:
    raw = client.post("/", data=listing(Region="cn-bj2")).content
    assert "镜像仓库/测试".encode() in raw  # UTF-8 on the wire, not \u escapes
    assert json.loads(raw)["ImageSet"][2]["BucketName"] == "golden/new\nline"
