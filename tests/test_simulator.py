"""Tests for the simulated UCloud API gateway, over real loopback HTTP."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    Fault,
    Fleet,
    Simulator,
    demo_fleet,
    golden_fleet,
    sign,
    synthetic_fleet,
)
from exporter.simulator.signing import string_to_sign

ROOT = Path(__file__).resolve().parent.parent
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


# --- signature -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "private_key", "expected"),
    [
        (
            {
                "Action": "DescribeUHostInstance",
                "Region": "cn-bj2",
                "Limit": 10,
                "PublicKey": "ucloudsomeone@example.com1296235120854146120",
            },
            "46f09bb9fab4f12dfc160dae12273d5332b5debe",
            "cba5cf5ec4d4233d206b1b54951e3787350a642f",
        ),
        ({"foo": "bar"}, "my_private_key", "634edc1bb957c0d65e5ab5494cf3b7784fbc87af"),
        (
            {"foo": "bar", "PublicKey": "my_public_key"},
            "my_private_key",
            "d4411ab30953fb0bbcb1e7313081f05e4e91a394",
        ),
    ],
)
def test_signature_vectors(params: dict[str, Any], private_key: str, expected: str) -> None:
    assert sign(params, private_key) == expected
    assert sign({**params, "Signature": "ignored"}, private_key) == expected


def test_string_to_sign_matches_docs() -> None:
    params = {
        "Action": "DescribeUHostInstance",
        "Region": "cn-bj2",
        "Limit": 10,
        "PublicKey": "ucloudsomeone@example.com1296235120854146120",
    }
    assert string_to_sign(params, "46f09bb9fab4f12dfc160dae12273d5332b5debe") == (
        "ActionDescribeUHostInstanceLimit10PublicKeyucloudsomeone@example.com1296235120854146120"
        "Regioncn-bj246f09bb9fab4f12dfc160dae12273d5332b5debe"
    )
    assert sign({"a": 42.0, "b": True}, "k") == sign({"a": "42", "b": "true"}, "k")


# --- gateway error paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "retcode", "message"),
    [
        (signed({"Region": "cn-bj2"}), 160, "Missing Action"),
        ({"Action": LIST, "PublicKey": GOLDEN_PUBLIC_KEY, "Region": "cn-bj2"}, 170, None),
        (signed({"Action": LIST, "PublicKey": "nobody", "Region": "cn-bj2"}), 172, "user not"),
        (signed({"Action": LIST, "Region": "cn-bj2"}, private_key="wrong"), 171, "signature"),
        (signed({"Action": LIST, "Region": "cn-bj2", "ProjectId": "org-x"}), 292, "project"),
        (signed({"Action": "DescribeUHostInstance"}), 161, None),
        (listing(), 230, "Missing params [Region]"),
        (listing(Region="cn-bj2", BucketType="Mine"), 230, "BucketType"),
        (listing(Region="cn-bj2", Limit="abc"), 230, "Limit"),
        (listing(Region="cn-bj2", Limit="-1"), 230, "Limit"),
        (listing(Region="cn-bj2", Offset="1.5"), 230, "Offset"),
        # Order of checks: the most fundamental problem wins.
        ({"PublicKey": "nobody"}, 160, None),
        ({"Action": "Nope", "PublicKey": "nobody"}, 170, None),
        (signed({"Action": "Nope", "PublicKey": "nobody"}), 172, None),
        (signed({"Action": "Nope", "ProjectId": "org-x"}, private_key="wrong"), 171, None),
        (signed({"Action": "Nope", "ProjectId": "org-x"}), 292, None),
    ],
)
def test_error_retcodes(
    client: httpx.Client, params: dict[str, Any], retcode: int, message: str | None
) -> None:
    body = post(client, params)
    assert body["RetCode"] == retcode
    assert body["Action"] == f"{params.get('Action', '')}Response"
    assert body["Message"]
    assert message is None or message in body["Message"]
    assert "ImageSet" not in body


def test_valid_project_and_default_project_succeed(client: httpx.Client) -> None:
    assert post(client, listing(Region="cn-sh2", ProjectId=GOLDEN_PROJECT))["RetCode"] == 0
    body = post(client, listing(Region="cn-sh2"))
    assert body["RetCode"] == 0
    assert body["Action"] == "GetImageBucketListResponse"
    assert "Message" not in body


def test_invalid_json_body_is_a_parameter_error(client: httpx.Client) -> None:
    response = client.post("/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["RetCode"] == 230


# --- listing ---------------------------------------------------------------------------------


def test_golden_listing_items(client: httpx.Client) -> None:
    body = post(client, listing(Region="cn-bj2"))
    assert body["TotalCount"] == 6
    assert body["ImageSet"] == [
        {"BucketName": n, "BucketType": t, "ImageCount": c, "CreateTime": ct}
        for n, t, c, ct, _ in GOLDEN_BJ2
    ]


def test_paging_offset_limit_total(client: httpx.Client) -> None:
    first = post(client, listing(Region="cn-bj2", Limit=4))
    second = post(client, listing(Region="cn-bj2", Limit=4, Offset=4))
    beyond = post(client, listing(Region="cn-bj2", Limit=4, Offset=10))
    assert [len(p["ImageSet"]) for p in (first, second, beyond)] == [4, 2, 0]
    assert {p["TotalCount"] for p in (first, second, beyond)} == {6}
    assert names(first) + names(second) == [row[0] for row in GOLDEN_BJ2]
    assert post(client, listing(Region="cn-bj2", Limit=0))["ImageSet"] == []


def test_default_limit_and_clamp() -> None:
    fleet = synthetic_fleet(regions=1, buckets_per_region=50, public_key="k", private_key="s")
    with (
        Simulator(fleet, limit_clamp=7) as simulator,
        httpx.Client(base_url=simulator.url, verify=TLS) as c,
    ):
        params = {"Action": LIST, "PublicKey": "k", "Region": "cn-bj1"}
        clamped = post(c, {**params, "Signature": sign(params, "s")})
        assert (len(clamped["ImageSet"]), clamped["TotalCount"]) == (7, 50)
        simulator.limit_clamp = None
        default = post(c, {**params, "Signature": sign(params, "s")})
        assert len(default["ImageSet"]) == 20
        assert default["ImageSet"][0]["BucketName"] == "bucket-00001"
        simulator.limit_clamp = 15
        seen: list[str] = []
        while len(seen) < 50:
            page = {**params, "Limit": 100, "Offset": len(seen)}
            body = post(c, {**page, "Signature": sign(page, "s")})
            assert 0 < len(body["ImageSet"]) <= 15
            seen += names(body)
        assert seen == [f"bucket-{i:05d}" for i in range(1, 51)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [row[0] for row in GOLDEN_BJ2]),
        ({"BucketType": "All"}, [row[0] for row in GOLDEN_BJ2]),
        ({"BucketType": "Share"}, ["ucsdr.ucloud.cn:5000/ucs/helloworld:6"]),
        ({"BucketType": "User"}, [row[0] for row in GOLDEN_BJ2 if not row[4]]),
        ({"BucketName": 'golden/quote"name'}, ['golden/quote"name']),
        ({"BucketName": "golden/quote"}, []),
        ({"BucketName": ""}, [row[0] for row in GOLDEN_BJ2]),
        ({"BucketName": "镜像仓库/测试", "BucketType": "User"}, ["镜像仓库/测试"]),
        ({"BucketName": "镜像仓库/测试", "BucketType": "Share"}, []),
    ],
)
def test_filters(client: httpx.Client, filters: dict[str, str], expected: list[str]) -> None:
    body = post(client, listing(Region="cn-bj2", **filters))
    assert names(body) == expected
    assert body["TotalCount"] == len(expected)


def test_empty_and_unknown_regions(client: httpx.Client) -> None:
    for region in ("hk", "xx-nowhere"):
        body = post(client, listing(Region=region))
        assert (body["RetCode"], body["TotalCount"], body["ImageSet"]) == (0, 0, [])


def test_get_form_and_json_agree(client: httpx.Client) -> None:
    params = listing(Region="cn-bj2", Limit=3, Offset=2, BucketName="镜像仓库/测试")
    by_get = client.get("/", params=params).json()
    by_form = client.post("/", data=params).json()
    by_json = client.post("/", json=params).json()
    assert by_get == by_form == by_json
    assert names(by_get) == []  # the filtered list has one bucket; Offset 2 skips it
    typed = listing(Region="cn-bj2", Limit=2, Offset=1.0)  # JSON numbers sign as decimals
    body = client.post("/any/path", json=typed).json()
    assert names(body) == [GOLDEN_BJ2[1][0], GOLDEN_BJ2[2][0]]


def test_keep_alive_reuses_one_connection(sim: Simulator) -> None:
    sim.reset_counts()
    with httpx.Client(base_url=sim.url, verify=TLS) as http:
        responses = [http.post("/", data=listing(Region="cn-sh2")) for _ in range(3)]
    assert [r.json()["RetCode"] for r in responses] == [0, 0, 0]
    assert all(r.http_version == "HTTP/1.1" for r in responses)
    assert all(r.headers["Content-Length"] == str(len(r.content)) for r in responses)
    assert sim.connection_count == 1
    assert sim.max_in_flight == 1


def test_latency_and_max_in_flight(sim: Simulator) -> None:
    sim.latency = 0.2
    sim.reset_counts()
    results: list[int] = []

    def one() -> None:
        with httpx.Client(base_url=sim.url, verify=TLS) as http:
            results.append(post(http, listing(Region="cn-sh2"))["RetCode"])

    started = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert results == [0, 0, 0, 0]
    assert sim.max_in_flight == 4
    assert 0.2 <= elapsed < 0.7


def test_request_counts(sim: Simulator, client: httpx.Client) -> None:
    post(client, listing(Region="cn-bj2"))
    post(client, listing(Region="cn-bj2", Offset=3))
    post(client, listing(Region="cn-sh2"))
    post(client, signed({"Action": "GetRegion"}))
    post(client, {"Action": LIST, "Region": "cn-sh2"})  # unauthenticated requests count too
    assert sim.request_count() == 5
    assert sim.request_count(action=LIST) == 4
    assert sim.request_count(action=LIST, region="cn-bj2") == 2
    assert sim.request_count(region="cn-sh2") == 2
    assert sim.request_count(action="GetRegion") == 1
    sim.reset_counts()
    assert sim.request_count() == 0


def test_get_region(client: httpx.Client) -> None:
    body = post(client, signed({"Action": "GetRegion"}))
    assert (body["RetCode"], body["Action"]) == (0, "GetRegionResponse")
    regions = body["Regions"]
    assert len(regions) == 6  # 3 regions x 2 zones, one entry per zone
    assert [r["Region"] for r in regions] == ["cn-bj2", "cn-bj2", "cn-sh2", "cn-sh2", "hk", "hk"]
    assert [r["Zone"] for r in regions][:2] == ["cn-bj2-01", "cn-bj2-02"]
    assert sum(r["IsDefault"] for r in regions) == 1
    for entry in regions:
        assert set(entry) == {"RegionId", "RegionName", "IsDefault", "BitMaps", "Region", "Zone"}
        assert isinstance(entry["RegionId"], int)
        assert isinstance(entry["RegionName"], str)
        assert entry["BitMaps"] == ""


# --- faults ----------------------------------------------------------------------------------


def test_fault_retcode_and_times(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=153, message="throttled", times=2))
    bodies = [post(client, listing(Region="cn-sh2")) for _ in range(3)]
    assert [b["RetCode"] for b in bodies] == [153, 153, 0]
    assert bodies[0] == {"RetCode": 153, "Action": f"{LIST}Response", "Message": "throttled"}


def test_fault_matching_and_clear(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=150), region="cn-sh2")
    sim.add_fault(Fault(retcode=130), account="someone-else")
    sim.add_fault(Fault(retcode=110), action="GetRegion")
    sim.add_fault(Fault(retcode=999), region="cn-sh2")  # shadowed by the first rule
    assert post(client, listing(Region="cn-sh2"))["RetCode"] == 150
    assert post(client, listing(Region="cn-bj2"))["RetCode"] == 0
    assert post(client, signed({"Action": "GetRegion"}))["RetCode"] == 110
    sim.clear_faults()
    assert post(client, listing(Region="cn-sh2"))["RetCode"] == 0


def test_fault_applies_after_authentication(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=150, times=1))
    bad = signed({"Action": LIST, "Region": "cn-bj2"}, private_key="wrong")
    assert post(client, bad)["RetCode"] == 171
    assert post(client, listing(Region="cn-bj2"))["RetCode"] == 150  # not used up by the 171
    assert post(client, listing(Region="cn-bj2"))["RetCode"] == 0


def test_fault_delay_applies_even_before_auth(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(delay=0.3))
    started = time.monotonic()
    assert post(client, signed({"Action": LIST}, private_key="wrong"))["RetCode"] == 171
    assert time.monotonic() - started >= 0.3


def test_fault_delay_causes_read_timeout(sim: Simulator) -> None:
    sim.add_fault(Fault(delay=0.5, times=1))
    with httpx.Client(base_url=sim.url, timeout=httpx.Timeout(5, read=0.1), verify=TLS) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post("/", data=listing(Region="cn-sh2"))
        assert http.post("/", data=listing(Region="cn-sh2")).json()["RetCode"] == 0


def test_fault_http_status(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(http_status=503, times=1))
    sim.add_fault(Fault(http_status=429, retcode=153, message="slow down", times=1))
    text = client.post("/", data=listing(Region="cn-sh2"))
    assert (text.status_code, text.text) == (503, "503 Service Unavailable\n")
    typed = client.post("/", data=listing(Region="cn-sh2"))
    assert typed.status_code == 429
    assert typed.json() == {"RetCode": 153, "Action": f"{LIST}Response", "Message": "slow down"}
    assert client.post("/", data=listing(Region="cn-sh2")).status_code == 200


@pytest.mark.parametrize(
    "raw", [b'{"RetCode": 0, "ImageSet": [', b"\xff\xfe garbage", b"x" * 3_000_000]
)
def test_fault_raw_body(client: httpx.Client, sim: Simulator, raw: bytes) -> None:
    sim.add_fault(Fault(body=raw), action=LIST)
    response = client.post("/", data=listing(Region="cn-sh2"))
    assert (response.status_code, response.content) == (200, raw)
    assert post(client, signed({"Action": "GetRegion"}))["RetCode"] == 0


def test_fault_mutate(client: httpx.Client, sim: Simulator) -> None:
    def lie(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "TotalCount": 999, "ImageSet": body["ImageSet"][:1]}

    sim.add_fault(Fault(mutate=lie))
    body = post(client, listing(Region="cn-sh2"))
    assert (body["TotalCount"], names(body)) == (999, ["golden/alpha"])
    error = post(client, listing())  # error responses are not mutated
    assert error == {"RetCode": 230, "Action": f"{LIST}Response", "Message": error["Message"]}


def test_fault_close_connection(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(close_connection=True, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/", data=listing(Region="cn-sh2"))
    assert post(client, listing(Region="cn-sh2"))["RetCode"] == 0


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(delay=-1)
    with pytest.raises(ValueError):
        Fault(times=-1)


# --- fleet changes while serving -------------------------------------------------------------


def test_add_and_remove_buckets_mid_listing(client: httpx.Client, sim: Simulator) -> None:
    first = post(client, listing(Region="cn-bj2", Limit=3))
    sim.fleet.add_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", Bucket("new/one", "Private", 1, 1))
    second = post(client, listing(Region="cn-bj2", Limit=3, Offset=3))
    assert second["TotalCount"] == 7
    assert names(second)[0] == names(first)[-1]  # the page shifted: one bucket repeats
    sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", "new/one")
    sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", GOLDEN_BJ2[0][0])
    third = post(client, listing(Region="cn-bj2"))
    assert names(third) == [row[0] for row in GOLDEN_BJ2[1:]]
    sim.fleet.add_bucket(GOLDEN_PUBLIC_KEY, "hk", Bucket("hk/a", "Public", 2, 3), index=5)
    assert names(post(client, listing(Region="hk"))) == ["hk/a"]
    with pytest.raises(KeyError):
        sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", "absent")
    with pytest.raises(KeyError):
        sim.fleet.add_bucket("nobody", "cn-bj2", Bucket("x", "Private", 0, 0))


def test_drift_only_on_first_page() -> None:
    with Simulator(golden_fleet(), drift=True, seed=3) as simulator:
        fleet = simulator.fleet
        with httpx.Client(base_url=simulator.url, verify=TLS) as http:

            def total() -> int:
                return sum(b.image_count for b in fleet.buckets(GOLDEN_PUBLIC_KEY, "cn-bj2"))

            before = total()
            for _ in range(3):
                post(http, listing(Region="cn-bj2", Offset=2))
            assert total() == before
            for _ in range(3):
                post(http, listing(Region="cn-bj2"))
            assert total() != before


def test_drift_never_negative_and_mostly_up() -> None:
    live = [Bucket(f"b{i}", "Private", 0, 0) for i in range(5)]
    fleet = Fleet([Account("k", "s", set(), {"r": live})])
    rng = random.Random(1)
    ups = downs = 0
    for start in [0] * 100 + [10] * 100:
        for bucket in live:
            bucket.image_count = start
        fleet.drift(rng)
        counts = [b.image_count for b in fleet.buckets("k", "r")]
        assert min(counts) >= 0
        ups += sum(c > start for c in counts)
        downs += sum(c < start for c in counts)
    assert downs > 0
    assert ups > 5 * downs  # mostly up, rarely down


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


def test_stop_closes_pooled_connections() -> None:
    simulator = Simulator(golden_fleet()).start()
    with httpx.Client(base_url=simulator.url, verify=TLS) as http:
        assert post(http, listing(Region="cn-sh2"))["RetCode"] == 0
        simulator.stop()
        simulator.stop()  # idempotent
        with pytest.raises(httpx.TransportError):
            http.post("/", data=listing(Region="cn-sh2"))


def test_logs_never_contain_secrets(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="exporter.simulator")
    params = listing(Region="cn-bj2")
    client.get("/", params=params)
    client.get("/", params=signed({"Action": LIST}, private_key="wrong"))
    assert caplog.records, "requests should be logged at DEBUG"
    assert params["Signature"] not in caplog.text
    assert "Signature" not in caplog.text
    assert GOLDEN_PRIVATE_KEY not in caplog.text


def test_cli_serves_until_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "exporter.simulator", "--fleet", "synthetic"]
    command += [
        "--regions",
        "2",
        "--buckets",
        "30",
        "--listen",
        "127.0.0.1:0",
        "--limit-clamp",
        "5",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    watchdog = threading.Timer(10, proc.kill)  # never hang the suite on a stuck child
    watchdog.start()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        keys = dict(part.split("=", 1) for part in proc.stdout.readline().split())
        params = {"Action": LIST, "PublicKey": keys["public-key"], "Region": "cn-bj2"}
        params["Signature"] = sign(params, keys["private-key"])
        body = httpx.post(url, data=params, timeout=5, verify=TLS).json()
        assert (body["RetCode"], body["TotalCount"], len(body["ImageSet"])) == (0, 30, 5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_json_round_trip_of_weird_names(client: httpx.Client) -> None:
    raw = client.post("/", data=listing(Region="cn-bj2")).content
    assert "镜像仓库/测试".encode() in raw  # UTF-8 on the wire, not \u escapes
    assert json.loads(raw)["ImageSet"][2]["BucketName"] == "golden/new\nline"
