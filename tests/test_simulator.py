"""The simulated UCloud API gateway over real loopback HTTP: signatures, error paths, listing."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
import pytest

from exporter.simulator import (
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    Fault,
    Simulator,
    sign,
    synthetic_fleet,
)
from exporter.simulator.signing import string_to_sign
from tests.support.gateway import GOLDEN_BJ2, LIST, TLS, listing, names, post, signed

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


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_valid_project_and_default_project_succeed(client: httpx.Client) -> None:
    assert post(client, listing(Region="cn-sh2", ProjectId=GOLDEN_PROJECT))["RetCode"] == 0
    body = post(client, listing(Region="cn-sh2"))
    assert body["RetCode"] == 0
    assert body["Action"] == "GetImageBucketListResponse"
    assert "Message" not in body


@pytest.mark.e2e
def test_invalid_json_body_is_a_parameter_error(client: httpx.Client) -> None:
    response = client.post("/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["RetCode"] == 230


# --- listing ---------------------------------------------------------------------------------


@pytest.mark.e2e
def test_golden_listing_items(client: httpx.Client) -> None:
    body = post(client, listing(Region="cn-bj2"))
    assert body["TotalCount"] == 6
    assert body["ImageSet"] == [
        {"BucketName": n, "BucketType": t, "ImageCount": c, "CreateTime": ct}
        for n, t, c, ct, _ in GOLDEN_BJ2
    ]


@pytest.mark.e2e
def test_paging_offset_limit_total(client: httpx.Client) -> None:
    first = post(client, listing(Region="cn-bj2", Limit=4))
    second = post(client, listing(Region="cn-bj2", Limit=4, Offset=4))
    beyond = post(client, listing(Region="cn-bj2", Limit=4, Offset=10))
    assert [len(p["ImageSet"]) for p in (first, second, beyond)] == [4, 2, 0]
    assert {p["TotalCount"] for p in (first, second, beyond)} == {6}
    assert names(first) + names(second) == [row[0] for row in GOLDEN_BJ2]
    assert post(client, listing(Region="cn-bj2", Limit=0))["ImageSet"] == []


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_an_empty_region_lists_nothing(client: httpx.Client) -> None:
    body = post(client, listing(Region="hk"))
    assert (body["RetCode"], body["TotalCount"], body["ImageSet"]) == (0, 0, [])


@pytest.mark.e2e
@pytest.mark.parametrize("region", ["xx-nowhere", "cn-gd"])  # unknown; real, not the account's
def test_a_region_the_account_does_not_have_is_a_parameter_error(
    client: httpx.Client, region: str
) -> None:
    body = post(client, listing(Region=region))
    assert body == {
        "RetCode": 230,
        "Action": f"{LIST}Response",
        "Message": "Params [Region] not valid",
    }


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_keep_alive_reuses_one_connection(sim: Simulator) -> None:
    sim.reset_counts()
    with httpx.Client(base_url=sim.url, verify=TLS) as http:
        responses = [http.post("/", data=listing(Region="cn-sh2")) for _ in range(3)]
    assert [r.json()["RetCode"] for r in responses] == [0, 0, 0]
    assert all(r.http_version == "HTTP/1.1" for r in responses)
    assert all(r.headers["Content-Length"] == str(len(r.content)) for r in responses)
    assert sim.connection_count == 1
    assert sim.max_in_flight == 1


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_latency_is_the_time_to_the_answer_and_a_slower_answer_is_not_delayed_more(
    sim: Simulator, client: httpx.Client
) -> None:
    # Building the answer happens within the latency (a gateway's stand-in with a fixed RTT,
    # not one that adds its own CPU to every round trip); a fault slower than the latency
    # decides alone when the answer leaves.
    sim.latency = 0.3
    sim.add_fault(Fault(delay=0.6), region="cn-bj2")
    for region, least, most in (("cn-sh2", 0.3, 0.55), ("cn-bj2", 0.6, 0.85)):
        started = time.monotonic()
        assert post(client, listing(Region=region))["RetCode"] == 0
        assert least <= time.monotonic() - started < most, region


@pytest.mark.e2e
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


@pytest.mark.e2e
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


# --- request id --------------------------------------------------------------------------------


@pytest.mark.e2e
def test_every_answer_carries_a_fresh_request_uuid(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=150, times=1), region="cn-sh2")
    sim.add_fault(Fault(http_status=502, times=1), region="cn-sh2")
    sim.add_fault(Fault(body=b"junk", times=1), region="cn-sh2")
    answers = [
        client.post("/", data=listing(Region="cn-bj2")),  # success
        client.post("/", data=listing(Region="xx-nowhere")),  # gateway error
        client.post("/", data=signed({"Action": LIST}, private_key="wrong")),  # auth error
        client.post("/", data=signed({"Action": "GetRegion"})),
        client.post("/", data=signed({"Action": "GetRepo"})),
        *(client.post("/", data=listing(Region="cn-sh2")) for _ in range(3)),  # the faults
        client.post("/", content=b"{nope", headers={"Content-Type": "application/json"}),
        client.post("/", content=b"x", headers={"Transfer-Encoding": "chunked"}),  # 411
    ]
    assert [a.status_code for a in answers] == [200] * 6 + [502, 200, 200, 411]
    assert [a.json()["RetCode"] for a in answers[:6]] == [0, 230, 171, 0, 0, 150]
    ids = [a.headers.get("X-UCLOUD-REQUEST-UUID") for a in answers]
    assert all(i is not None and uuid.UUID(i).version == 4 for i in ids), ids
    assert len(set(ids)) == len(ids)
