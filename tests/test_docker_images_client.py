"""GetDockerImageList through our client (``list_docker_images``): against gateways on
``httpx.MockTransport`` (every field, both name spellings, paging, lies, junk, hostile sizes,
43023, no retry of UGC's RetCodes) and against the real simulator (its quirks, a bucket deleted
mid-refresh)."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.simulator import (
    GOLDEN_PRIVATE_KEY,
    GOLDEN_PROJECT,
    GOLDEN_PUBLIC_KEY,
    Account,
    Bucket,
    DockerImage,
    DockerTag,
    Fault,
    Fleet,
    GeneratedDockerImages,
    Quirks,
    Simulator,
)
from exporter.ucloud import APIError, DockerImages
from exporter.ucloud import DockerImage as Listed
from exporter.ucloud._docker_images import MAX_IMAGES, MAX_LIMIT, MAX_NAME_CHARS
from exporter.ucloud._errors import UGC_RETCODES
from tests.support.inprocess import ACCOUNT, docker_images_over
from tests.support.sdk import no_proxy  # noqa: F401 (autouse fixture)

T0 = 1_700_000_000
Answer = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def entry(i: int, *, key: str = "BucketName", tags: int = 2) -> dict[str, Any]:
    return {
        key: f"img-{i:05d}",
        "TagSet": [{"TagName": f"v{j}", "CreateTime": T0 + i + j * 10} for j in range(tags)],
        "UpdateTime": T0 + i,
        "ResourceId": f"uimg-{i}",
        "OrgId": "org-x",
    }


def gateway(
    items: list[Any],
    *,
    total: Any = "true",
    ignore_offset: bool = False,
    clamp: int | None = None,
    seen: list[dict[str, str]] | None = None,
) -> Answer:
    """A GetDockerImageList gateway over ``items``; ``total``: "true" the real count, None
    left out, else that value."""

    def answer(request: httpx.Request) -> httpx.Response:
        f = form(request)
        if seen is not None:
            seen.append(f)
        offset = 0 if ignore_offset else int(f["Offset"])
        limit = int(f["Limit"]) if clamp is None else min(clamp, int(f["Limit"]))
        body: dict[str, Any] = {"RetCode": 0, "ImageSet": items[offset : offset + limit]}
        if total == "true":
            body["TotalCount"] = len(items)
        elif total is not None:
            body["TotalCount"] = total
        return httpx.Response(200, json=body)

    return answer


def failing(code: int, calls: list[int]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json={"RetCode": code, "Message": "no"})

    return answer


# --- fields and names ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["BucketName", "ImageName"])
def test_every_field_under_either_name_spelling(key: str) -> None:
    seen: list[dict[str, str]] = []
    found = docker_images_over(gateway([entry(1, key=key, tags=3)], seen=seen), "web")
    assert found == DockerImages(
        (Listed("img-00001", 3, T0 + 21, T0 + 1, T0 + 1),), {}, frozenset(), 1
    )
    (sent,) = seen
    assert {k: sent[k] for k in ("Action", "Region", "BucketName", "Offset", "Limit")} == {
        "Action": "GetDockerImageList",
        "Region": "r",
        "BucketName": "web",
        "Offset": "0",
        "Limit": "100",
    }
    assert "ProjectId" not in sent


def test_both_spellings_present_and_a_project() -> None:
    item = {**entry(1), "ImageName": "other"}
    seen: list[dict[str, str]] = []
    account = replace(ACCOUNT, project_id="org-p")
    found = docker_images_over(gateway([item], seen=seen), account=account)
    assert [i.name for i in found.images] == ["img-00001"]  # BucketName, the reference's field
    assert seen[0]["ProjectId"] == "org-p"


def test_no_tags_and_missing_or_malformed_fields() -> None:
    items = [
        {"BucketName": "empty", "TagSet": [], "UpdateTime": T0},
        {"BucketName": "bare"},
        {"BucketName": "junk", "TagSet": "v1", "UpdateTime": "soon"},
        {
            "BucketName": "odd-tags",
            "TagSet": [7, {"CreateTime": -1}, {"CreateTime": T0}],
            "UpdateTime": True,
        },
        {"ImageName": ""},
        {"BucketName": 5},
        "not an object",
        None,
    ]
    found = docker_images_over(gateway(items, total=None))
    assert found.images == (
        Listed("empty", 0, None, None, T0),
        Listed("bare", None, None, None, None),
        Listed("junk", None, None, None, None),
        Listed("odd-tags", 3, T0, T0, None),
    )
    assert found.invalid == {
        "TagSet": 2,
        "UpdateTime": 3,
        "TagSet.CreateTime": 2,
        "BucketName": 2,
        "entry": 2,
    }
    assert found.inconsistencies == frozenset()


def test_names_are_cleaned_and_overlong_ones_invalid() -> None:
    items = [
        {"BucketName": "bad\ud800name", "TagSet": [], "UpdateTime": T0},
        {"BucketName": "x" * (MAX_NAME_CHARS + 1), "TagSet": []},
        {"BucketName": "y" * MAX_NAME_CHARS, "TagSet": [], "UpdateTime": T0},
    ]
    body = json.dumps({"RetCode": 0, "TotalCount": 3, "ImageSet": items})  # \ud800 escaped
    found = docker_images_over(lambda r: httpx.Response(200, content=body.encode()))
    assert [i.name for i in found.images] == ["bad\ufffdname", "y" * MAX_NAME_CHARS]
    assert found.invalid == {"BucketName": 1}


# --- paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 7, 100, 1000])
def test_paging_reaches_every_image_and_caps_limit(page_size: int) -> None:
    seen: list[dict[str, str]] = []
    found = docker_images_over(
        gateway([entry(i) for i in range(250)], seen=seen), page_size=page_size
    )
    assert [i.name for i in found.images] == [f"img-{i:05d}" for i in range(250)]
    limit = min(page_size, MAX_LIMIT)
    assert {int(f["Limit"]) for f in seen} == {limit}
    assert (
        found.requests == len(seen) == -(-250 // limit)
    )  # TotalCount reached: no empty page asked for
    assert found.inconsistencies == frozenset()


@pytest.mark.parametrize(
    ("options", "kinds"),
    [
        ({"total": 10_000}, {"total_ahead"}),
        ({"total": 3}, set()),
        ({"total": None}, set()),
        ({"ignore_offset": True}, {"repeated_page"}),
        ({"clamp": 7}, set()),
    ],
)
def test_lies_and_clamps_end_the_listing_without_failing(
    options: dict[str, Any], kinds: set[str]
) -> None:
    found = docker_images_over(gateway([entry(i) for i in range(45)], **options), page_size=10)
    expected = 10 if options.get("ignore_offset") else 3 if options.get("total") == 3 else 45
    if options.get("total") == 3:
        expected = 10  # the first page holds ten: everything TotalCount promised
    assert len(found.images) == expected
    assert found.inconsistencies == kinds
    assert found.requests <= 8


def test_an_oversized_page_is_noted_and_kept() -> None:
    items = [entry(i) for i in range(30)]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(form(request)["Offset"])
        return httpx.Response(
            200, json={"RetCode": 0, "TotalCount": 30, "ImageSet": items[offset:]}
        )

    found = docker_images_over(answer, page_size=10)
    assert len(found.images) == 30
    assert found.inconsistencies == {"oversized_page"}


# --- errors -------------------------------------------------------------------------------------


def test_bucket_not_exist_is_gone_not_an_error() -> None:
    calls: list[int] = []
    found = docker_images_over(failing(43023, calls), retries=3)
    assert found.gone and found.images == () and found.invalid == {}
    assert calls == [1]  # not retried


def test_bucket_gone_on_a_later_page() -> None:
    items = [entry(i) for i in range(30)]
    ok = gateway(items)

    def answer(request: httpx.Request) -> httpx.Response:
        if form(request)["Offset"] != "0":
            return httpx.Response(200, json={"RetCode": 43023, "Message": "BucketNotExistError"})
        return ok(request)

    found = docker_images_over(answer, page_size=10)
    assert found.gone and found.images == ()


@pytest.mark.parametrize("code", [43000, 43006, 43033, 43038])
def test_ugc_retcodes_are_errors_and_never_retried(code: int) -> None:
    calls: list[int] = []
    with pytest.raises(APIError) as raised:
        docker_images_over(failing(code, calls), retries=3)
    assert raised.value.code == code and not raised.value.transient
    assert calls == [1]


def test_the_ugc_range_is_carved_out_of_the_server_error_rule() -> None:
    assert list(UGC_RETCODES) == list(range(43000, 43039))
    assert APIError(42999, "x").transient and APIError(43039, "x").transient
    assert not any(APIError(code, "x").transient for code in UGC_RETCODES)


# --- hostile answers ----------------------------------------------------------------------------


def test_a_hundred_thousand_images_are_capped_in_time_and_memory() -> None:
    body = json.dumps(
        {
            "RetCode": 0,
            "TotalCount": 100_000,
            "ImageSet": [entry(i, tags=1) for i in range(100_000)],
        }
    ).encode()
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, content=body)

    tracemalloc.start()
    began = time.monotonic()
    try:
        found = docker_images_over(answer, max_response_bytes=64 * 1024 * 1024, budget=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - began < 20
    assert len(found.images) == MAX_IMAGES and found.truncated
    assert calls == [1]  # the cap reached: no page after it asked for
    assert peak < 400 * 1024 * 1024


def test_many_tags_keep_only_their_aggregates() -> None:
    tags = [{"TagName": f"t{j}", "CreateTime": T0 + j} for j in range(200_000)]
    body = {
        "RetCode": 0,
        "TotalCount": 1,
        "ImageSet": [{"BucketName": "big", "TagSet": tags, "UpdateTime": T0}],
    }
    found = docker_images_over(
        lambda r: httpx.Response(200, json=body), max_response_bytes=64 * 1024 * 1024
    )
    assert found.images == (Listed("big", 200_000, T0 + 199_999, T0, T0),)
    assert not hasattr(found.images[0], "__dict__")  # slots: no per-tag data can hide there


def test_a_ten_megabyte_name_is_invalid_not_kept() -> None:
    body = {
        "RetCode": 0,
        "TotalCount": 2,
        "ImageSet": [
            {"BucketName": "n" * 10_000_000, "TagSet": []},
            {"BucketName": "ok", "TagSet": [], "UpdateTime": T0},
        ],
    }
    found = docker_images_over(
        lambda r: httpx.Response(200, json=body), max_response_bytes=32 * 1024 * 1024
    )
    assert [i.name for i in found.images] == ["ok"]
    assert found.invalid == {"BucketName": 1}


@pytest.mark.parametrize(
    "junk",
    [
        {"ImageSet": {}},
        {"ImageSet": "x"},
        {"TotalCount": -1, "ImageSet": []},
        {"TotalCount": "9", "ImageSet": []},
    ],
)
def test_junk_shapes_are_decode_errors(junk: dict[str, Any]) -> None:
    from exporter.ucloud import DecodeError

    with pytest.raises(DecodeError):
        docker_images_over(lambda r: httpx.Response(200, json={"RetCode": 0, **junk}))


def test_a_page_that_never_ends_is_bounded() -> None:
    def answer(request: httpx.Request) -> httpx.Response:  # a new name every page, forever
        offset = int(form(request)["Offset"])
        return httpx.Response(
            200, json={"RetCode": 0, "ImageSet": [entry(offset + i) for i in range(100)]}
        )

    began = time.monotonic()
    found = docker_images_over(answer, budget=60)
    assert len(found.images) == MAX_IMAGES and found.truncated
    assert found.requests == MAX_IMAGES // 100
    assert time.monotonic() - began < 30


# --- against the simulator ----------------------------------------------------------------------

SIM_ACCOUNT = replace(ACCOUNT, public_key=GOLDEN_PUBLIC_KEY, project_id=GOLDEN_PROJECT)


def sim_fleet(quirks: Quirks | None = None) -> Fleet:
    tags = [DockerTag("v1", T0), DockerTag("v2", T0 + 50)]
    bj2 = [
        Bucket(
            "web",
            "Private",
            45,
            T0,
            docker_images=[DockerImage(f"app-{k:02d}", tags[: k % 3], T0 + k) for k in range(45)],
        ),
        Bucket("gone", "Private", 1, T0, docker_images=[DockerImage("x")], vanished=True),
        Bucket("big", "Private", 250, T0, docker_images=GeneratedDockerImages(250, 4, T0, T0)),
    ]
    owner = Account(GOLDEN_PUBLIC_KEY, GOLDEN_PRIVATE_KEY, {GOLDEN_PROJECT}, {"cn-bj2": bj2})
    if quirks is not None:
        owner.action_quirks = {"GetDockerImageList": {"cn-bj2": quirks}}
    return Fleet([owner])


def over_sim(sim: Simulator, bucket: str, **options: Any) -> DockerImages:
    secret = replace(SIM_ACCOUNT, private_key=type(ACCOUNT.private_key)(GOLDEN_PRIVATE_KEY))
    return docker_images_over(sim.url, bucket, account=secret, region="cn-bj2", **options)


@pytest.mark.e2e
def test_the_simulators_images_every_field() -> None:
    with Simulator(sim_fleet()) as sim:
        web = over_sim(sim, "web", page_size=7)
        big = over_sim(sim, "big")
        gone = over_sim(sim, "gone")
        missing = over_sim(sim, "no-such-bucket")
    assert [i.name for i in web.images] == [f"app-{k:02d}" for k in range(45)]
    assert web.images[2] == Listed("app-02", 2, T0 + 50, T0, T0 + 2)
    assert web.images[0] == Listed("app-00", 0, None, None, T0)
    assert web.invalid == {} and web.inconsistencies == frozenset()
    assert len(big.images) == 250 and big.images[0].tags == 4
    assert big.images[0].newest_tag == T0 + 3 * 3600 and big.images[0].oldest_tag == T0
    assert gone.gone and missing.gone


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("quirks", "count", "kinds"),
    [
        (Quirks(name_key="ImageName"), 45, set()),
        (Quirks(name_key="both"), 45, set()),
        (Quirks(total_count=1000), 45, {"total_ahead"}),
        (Quirks(omit_total=True), 45, set()),
        (Quirks(ignore_offset=True), 10, {"repeated_page"}),
        (Quirks(ignore_limit=True), 45, {"oversized_page"}),
        (Quirks(page_entries=4), 45, set()),
        (Quirks(omit_fields=("UpdateTime", "TagSet")), 45, set()),
        (Quirks(omit_zero=True), 45, set()),
    ],
)
def test_every_simulator_quirk(quirks: Quirks, count: int, kinds: set[str]) -> None:
    with Simulator(sim_fleet(quirks)) as sim:
        found = over_sim(sim, "web", page_size=10)
    assert len(found.images) == count
    assert found.inconsistencies == kinds
    assert found.requests <= 12  # page_entries=4: twelve pages of four
    if quirks.omit_fields:
        assert found.invalid == {"UpdateTime": 45, "TagSet": 45}
        assert {i.tags for i in found.images} == {None}


@pytest.mark.e2e
def test_a_bucket_deleted_mid_refresh_and_a_fault() -> None:
    fleet = sim_fleet()
    with Simulator(fleet) as sim:
        assert not over_sim(sim, "web").gone
        fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", "web")
        assert over_sim(sim, "web").gone
        sim.add_fault(Fault(retcode=43006, message="ParaMiss"), action="GetDockerImageList")
        with pytest.raises(APIError) as raised:
            over_sim(sim, "big", retries=2)
    assert raised.value.code == 43006
    assert sim.request_count() == 3  # the ParaMiss not retried
