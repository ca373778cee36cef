"""API client and paging, against an in-memory gateway behind httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.config import Account, Secret, UCloudSettings
from exporter.ucloud import (
    USER_AGENT,
    APIError,
    DeadlineExceeded,
    DecodeError,
    HTTPStatusError,
    RequestTimeout,
    TransportError,
    UCloudClient,
    list_image_buckets,
    sign,
)

ACCOUNT = Account(
    name="main",
    public_key="pub",
    private_key=Secret("priv"),
    project_id="org-1",
    regions=("cn-bj2",),
)


class Gateway:
    """A tiny GetImageBucketList: checks signatures, pages, can be told to misbehave."""

    def __init__(self, n: int, *, clamp: int | None = None, total: bool = True) -> None:
        self.buckets = [
            {
                "BucketName": f"b{i:05d}",
                "BucketType": "Private" if i % 3 else "Public",
                "ImageCount": i,
                "CreateTime": 1_600_000_000 + i,
            }
            for i in range(n)
        ]
        self.clamp, self.total = clamp, total
        self.requests: list[dict[str, str]] = []
        self.headers: list[httpx.Headers] = []
        self.in_flight = self.max_in_flight = 0
        self.delay = 0.0
        self.script: list[httpx.Response | Exception] = []  # answered first, in order

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        self.requests.append(form)
        self.headers.append(request.headers)
        assert request.method == "POST"
        signed = {k: v for k, v in form.items() if k != "Signature"}
        if form.get("Signature") != sign(signed, "priv"):
            return httpx.Response(200, json={"RetCode": 171, "Message": "signature error"})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        offset, limit = int(form["Offset"]), int(form["Limit"])
        if self.clamp:
            limit = min(limit, self.clamp)
        body = {
            "RetCode": 0,
            "Action": "GetImageBucketListResponse",
            "ImageSet": self.buckets[offset : offset + limit],
        }
        if self.total:
            body["TotalCount"] = len(self.buckets)
        return httpx.Response(200, json=body)


def run(
    gw: Gateway,
    *,
    page_size: int = 10,
    retries: int = 2,
    budget: float = 10.0,
    concurrency: int = 8,
    observed: Counter[tuple[str, str | None]] | None = None,
):
    settings = UCloudSettings(
        base_url="https://api.example/",
        page_size=page_size,
        retries=retries,
        max_concurrent_requests=concurrency,
        timeout_seconds=5,
    )

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    async def go():
        client = UCloudClient(
            settings, transport=httpx.MockTransport(gw), rng=random.Random(1), sleep=no_sleep
        )
        try:
            return await list_image_buckets(
                client,
                ACCOUNT,
                "cn-bj2",
                deadline=time.monotonic() + budget,
                observe=lambda action, reason: (
                    observed if observed is not None else Counter()
                ).update([(action, reason)]),
            )
        finally:
            await client.aclose()

    return asyncio.run(go())


def names(listing) -> list[str]:
    return [b.name for b in listing.buckets]


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 95, 100])
def test_lists_every_bucket_once_in_ceil_pages(n):
    gw = Gateway(n)
    listing = run(gw, page_size=10)
    assert names(listing) == [f"b{i:05d}" for i in range(n)]
    assert len(gw.requests) == max(1, -(-n // 10))
    first = gw.requests[0]
    assert first["Action"] == "GetImageBucketList" and first["Region"] == "cn-bj2"
    assert first["ProjectId"] == "org-1" and first["BucketType"] == "All"
    assert first["Limit"] == "10" and first["Offset"] == "0"
    assert "BucketName" not in first
    assert gw.headers[0]["user-agent"].startswith(USER_AGENT)
    assert listing.buckets[1].type == "private" if n > 1 else True


def test_remaining_pages_fetched_concurrently():
    gw = Gateway(100)
    gw.delay = 0.05
    started = time.monotonic()
    run(gw, page_size=10, concurrency=8)
    elapsed = time.monotonic() - started
    assert gw.max_in_flight == 8  # bounded by max_concurrent_requests, and reached
    assert elapsed < 0.05 * 6  # 1 + ceil(9/8) round trips, not 10 sequential ones


@pytest.mark.parametrize(
    ("n", "clamp", "total"), [(95, 7, True), (95, 7, False), (20, 10, False), (30, 10, True)]
)
def test_gateway_clamping_limit_loses_and_doubles_nothing(n, clamp, total):
    gw = Gateway(n, clamp=clamp, total=total)
    listing = run(gw, page_size=10)
    assert names(listing) == [f"b{i:05d}" for i in range(n)]
    assert len(gw.requests) <= -(-n // clamp) + 2


# A short FIRST page cannot tell "the end" from "the gateway clamped Limit", so it costs one
# more request (which comes back empty); after that, a page shorter than the first one ends it.
@pytest.mark.parametrize(("n", "expected_requests"), [(0, 1), (5, 2), (10, 2), (25, 3)])
def test_without_total_count_stops_on_short_page(n, expected_requests):
    gw = Gateway(n, total=False)
    assert len(run(gw, page_size=10).buckets) == n
    assert len(gw.requests) == expected_requests


def test_empty_page_with_total_ahead_ends_the_listing_with_what_came_back():
    gw = Gateway(25)
    real = gw.buckets
    gw.buckets = real[:10]  # the gateway says TotalCount 25 but has only 10

    async def lying(request):
        response = await Gateway.__call__(gw, request)
        body = json.loads(response.content)
        body["TotalCount"] = 25
        return httpx.Response(200, json=body)

    listing = run(lying)  # type: ignore[arg-type]
    assert names(listing) == [f"b{i:05d}" for i in range(10)]
    assert listing.inconsistencies == {"total_ahead"}
    assert len(gw.requests) == 3  # offsets 0, 10, 20: TotalCount bounds the window


def test_shrinking_list_is_accepted_and_duplicates_removed():
    gw = Gateway(30)
    calls = 0

    async def shifting(request):
        nonlocal calls
        calls += 1
        response = await Gateway.__call__(gw, request)
        if calls == 1:  # after the first page: one bucket inserted at the front
            gw.buckets.insert(
                0, {"BucketName": "new", "BucketType": "Public", "ImageCount": 1, "CreateTime": 1}
            )
        return response

    listing = run(shifting)  # type: ignore[arg-type]
    assert len(names(listing)) == len(set(names(listing)))
    assert set(names(listing)) >= {f"b{i:05d}" for i in range(30)} - {"b00029"}


def test_invalid_fields_counted_and_the_buckets_kept():
    gw = Gateway(5)
    gw.buckets[1]["ImageCount"] = "7"
    gw.buckets[2]["ImageCount"] = -1
    del gw.buckets[3]["BucketName"]
    gw.buckets[4]["CreateTime"] = True
    listing = run(gw)
    assert names(listing) == ["b00000", "b00001", "b00002", None, "b00004"]
    assert [b.images for b in listing.buckets] == [0, None, None, 3, 4]
    assert listing.invalid == {"ImageCount": 2, "BucketName": 1, "CreateTime": 1}


def test_transient_errors_retried_then_succeed():
    gw = Gateway(3)
    gw.script = [
        httpx.Response(500),
        httpx.Response(200, json={"RetCode": 153, "Message": "throttled"}),
    ]
    seen: Counter[tuple[str, str | None]] = Counter()
    assert len(run(gw, retries=2, observed=seen).buckets) == 3
    assert seen == Counter(
        {
            ("GetImageBucketList", "http_500"): 1,
            ("GetImageBucketList", "retcode_153"): 1,
            ("GetImageBucketList", None): 1,
        }
    )


@pytest.mark.parametrize(
    ("answer", "error", "reason"),
    [
        (
            httpx.Response(200, json={"RetCode": 172, "Message": "user not exist"}),
            APIError,
            "retcode_172",
        ),
        (
            httpx.Response(200, json={"RetCode": 292, "Message": "project not exist"}),
            APIError,
            "retcode_292",
        ),
        (httpx.Response(200, content=b"<html>gateway</html>"), DecodeError, "decode"),
        (httpx.Response(200, json=[1, 2]), DecodeError, "decode"),
        (httpx.Response(200, json={"RetCode": 0, "ImageSet": {"a": 1}}), DecodeError, "decode"),
        (httpx.Response(404), HTTPStatusError, "http_404"),
    ],
)
def test_permanent_errors_not_retried(answer, error, reason):
    gw = Gateway(3)
    gw.script = [answer] * 5
    seen: Counter[tuple[str, str | None]] = Counter()
    with pytest.raises(error) as info:
        run(gw, retries=3, observed=seen)
    assert info.value.reason == reason
    assert len(gw.requests) == 1
    assert seen == Counter({("GetImageBucketList", reason): 1})


@pytest.mark.parametrize(
    ("exc", "error", "reason"),
    [
        (httpx.ConnectError("refused"), TransportError, "transport"),
        (httpx.ReadTimeout("slow"), RequestTimeout, "timeout"),
    ],
)
def test_transport_errors_retried_up_to_retries(exc, error, reason):
    gw = Gateway(3)
    gw.script = [exc] * 10
    with pytest.raises(error) as info:
        run(gw, retries=2)
    assert info.value.reason == reason
    assert len(gw.requests) == 3


def test_retcode_message_carried():
    gw = Gateway(1)
    gw.script = [httpx.Response(200, json={"RetCode": 2001, "Message": "internal"})] * 9
    with pytest.raises(APIError) as info:
        run(gw, retries=1)
    assert (info.value.code, info.value.message) == (2001, "internal")
    assert str(info.value) == "RetCode 2001: internal" and info.value.transient
    assert len(gw.requests) == 2


def test_deadline_bounds_the_listing():
    gw = Gateway(3)
    gw.delay = 1.0
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        run(gw, budget=0.2)
    assert time.monotonic() - started < 0.9
