"""Paging against gateways that follow the API reference but answer oddly (httpx.MockTransport).

Each gateway here is legal by the letter of the reference (every field optional, no maximum
``Limit`` documented) or is a plain lie (``TotalCount``, ignored ``Offset``). The listing must
stay bounded in calls and memory, report what really came back and say what was odd.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from exporter.ucloud import (
    DecodeError,
    Listing,
    ListingTooLarge,
    UCloudError,
)
from tests.support.inprocess import list_over


def entry(i: int) -> dict[str, object]:
    return {
        "BucketName": f"b{i:06d}",
        "BucketType": "Private" if i % 3 else "Public",
        "ImageCount": i % 7,
        "CreateTime": 1_600_000_000 + i,
    }


@dataclass
class Hostile:
    """A GetImageBucketList that can lie about TotalCount and ignore Offset and Limit."""

    n: int
    total: int | None = -1  # -1: the truth; None: omitted
    ignore_offset: bool = False
    ignore_limit: bool = False
    entries: list[Any] = field(default_factory=list)
    calls: int = 0

    def __post_init__(self) -> None:
        self.entries = self.entries or [entry(i) for i in range(self.n)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        form = dict(parse_qsl(request.content.decode()))
        offset = 0 if self.ignore_offset else int(form["Offset"])
        end = len(self.entries) if self.ignore_limit else offset + int(form["Limit"])
        body: dict[str, object] = {"RetCode": 0, "ImageSet": self.entries[offset:end]}
        if self.total is not None:
            body["TotalCount"] = len(self.entries) if self.total == -1 else self.total
        return httpx.Response(200, content=json.dumps(body).encode())


def listing(gateway: Hostile, **settings: Any) -> Listing | UCloudError:
    try:
        return list_over(gateway, budget=20, **settings)
    except UCloudError as exc:
        return exc


def ok(outcome: Listing | UCloudError) -> Listing:
    assert isinstance(outcome, Listing), outcome
    return outcome


def names(result: Listing) -> list[str | None]:
    return [b.name for b in result.buckets]


# Default settings: page_size 100, max_concurrent_requests 8 (the in-flight window).
@pytest.mark.parametrize(
    ("real", "lie", "max_calls"),
    [
        (5, 100_000, 20),  # the example: <= 20 calls
        (250, 100_000, 3 + 8 + 1),
        (0, 100_000, 1),
        (1000, 1500, 10 + 8 + 1),
    ],
)
def test_lying_total_count_costs_real_pages_plus_the_window(real, lie, max_calls):
    gateway = Hostile(real, total=lie)
    result = ok(listing(gateway))
    assert names(result) == [f"b{i:06d}" for i in range(real)]
    assert gateway.calls <= max_calls  # was: every page TotalCount implies, then an error
    assert result.inconsistencies == {"total_ahead"}


def test_ignored_offset_stops_at_the_first_repeated_page():
    gateway = Hostile(5000, ignore_offset=True)
    result = ok(listing(gateway))
    assert gateway.calls <= 1 + 8  # was: 50 calls, and 100 of 5000 buckets reported silently
    assert len(result.buckets) == 100
    assert result.inconsistencies == {"repeated_page"}


def test_ignored_offset_and_limit_whole_list_every_page_costs_one_call():
    gateway = Hostile(5000, ignore_offset=True, ignore_limit=True)
    result = ok(listing(gateway))
    assert gateway.calls == 1  # everything TotalCount promises came back on page 1
    assert len(result.buckets) == 5000
    assert result.inconsistencies == {"oversized_page"}


def test_ignored_offset_and_limit_without_total_stops_on_the_repeat():
    gateway = Hostile(5000, total=None, ignore_offset=True, ignore_limit=True)
    result = ok(listing(gateway))
    assert gateway.calls == 2
    assert len(result.buckets) == 5000
    assert result.inconsistencies == {"oversized_page", "repeated_page"}


def test_honest_gateway_reports_no_inconsistency():
    gateway = Hostile(1234)
    result = ok(listing(gateway))
    assert gateway.calls == 13 and len(result.buckets) == 1234
    assert result.inconsistencies == frozenset()


def test_a_listing_beyond_max_buckets_fails_naming_the_key():
    outcome = listing(Hostile(300), max_buckets_per_listing=250)
    assert isinstance(outcome, ListingTooLarge)
    assert outcome.reason == "too_many_buckets"
    assert "ucloud.max_buckets_per_listing" in str(outcome)


def test_the_body_cap_is_a_setting_named_in_the_error():
    outcome = listing(Hostile(1000, ignore_limit=True), max_response_bytes=10_000)
    assert isinstance(outcome, DecodeError)
    assert "ucloud.max_response_bytes" in str(outcome)


def test_omitted_and_malformed_fields_never_drop_the_bucket():
    entries: list[Any] = [
        {"BucketName": "empty", "BucketType": "Private", "CreateTime": 1},  # ImageCount: 0
        {"BucketName": "typeless", "ImageCount": 3, "CreateTime": 2},
        {"BucketName": "odd-type", "BucketType": "Shared", "ImageCount": 4, "CreateTime": 3},
        {"BucketName": "no-time", "BucketType": "Public", "ImageCount": "5"},
        {"BucketType": "Public", "ImageCount": 6, "CreateTime": 5},
        {},
        42,  # not an object: not a bucket
    ]
    result = ok(listing(Hostile(0, entries=entries)))
    got = [(b.name, b.type, b.images, b.created) for b in result.buckets]
    assert got == [
        ("empty", "private", None, 1),
        ("typeless", "unknown", 3, 2),
        ("odd-type", "unknown", 4, 3),
        ("no-time", "public", None, None),
        (None, "public", 6, 5),
        (None, "unknown", None, None),
    ]
    assert result.invalid == {
        "ImageCount": 3,
        "BucketType": 3,
        "CreateTime": 2,
        "BucketName": 2,
        "entry": 1,
    }


def test_lone_surrogates_and_control_characters_are_replaced_not_raised_on():
    raw = (
        b'{"RetCode": 0, "TotalCount": 2, "ImageSet": ['
        b'{"BucketName": "bad\\ud800name", "BucketType": "Private", "ImageCount": 1,'
        b' "CreateTime": 1},'
        b'{"BucketName": "pair\\ud83d\\ude00\\u0000", "BucketType": "Public",'
        b' "ImageCount": 2, "CreateTime": 2}]}'
    )

    result = list_over(lambda request: httpx.Response(200, content=raw))
    assert names(result) == ["bad\ufffdname", "pair\U0001f600\x00"]
    for name in names(result):
        assert name is not None
        name.encode("utf-8")  # never raises
