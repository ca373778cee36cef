"""The client bugs the fault tests found, checked directly through ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import gzip
import random
import time

import httpx
import pytest

from exporter.config import UCloudSettings
from exporter.ucloud import (
    DecodeError,
    Listing,
    RequestTimeout,
    UCloudClient,
    list_image_buckets,
)
from tests.support.inprocess import ACCOUNT

ENTRY = {"BucketName": "b", "BucketType": "Private", "ImageCount": 1, "CreateTime": 1}


def listing(handler, *, timeout: float = 5.0, budget: float = 5.0, retries: int = 0):
    """Run one listing against ``handler``; return (result or exception, seconds)."""
    settings = UCloudSettings(
        base_url="https://api.example/", timeout_seconds=timeout, page_size=1, retries=retries
    )

    async def go():
        client = UCloudClient(
            settings, transport=httpx.MockTransport(handler), rng=random.Random(0)
        )
        try:
            return await list_image_buckets(
                client, ACCOUNT, "r", deadline=time.monotonic() + budget, observe=lambda *_: None
            )
        except Exception as exc:
            return exc
        finally:
            await client.aclose()

    started = time.monotonic()
    outcome = asyncio.run(go())
    return outcome, time.monotonic() - started


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"RetCode": ' + b"1" * 5000 + b"}",
        b'{"RetCode": 0, "TotalCount": ' + b"9" * 5000 + b"}",
    ],
    ids=["nested-100k-deep", "retcode-5000-digits", "total-5000-digits"],
)
def test_hostile_json_is_a_decode_error(body: bytes) -> None:
    outcome, _ = listing(lambda request: httpx.Response(200, content=body))
    assert isinstance(outcome, DecodeError)  # was RecursionError / ValueError


def test_absurd_total_count_costs_a_window_not_every_page() -> None:
    page = {"RetCode": 0, "TotalCount": 10**12, "ImageSet": [ENTRY]}
    outcome, seconds = listing(lambda request: httpx.Response(200, json=page))
    assert isinstance(outcome, Listing) and len(outcome.buckets) == 1
    assert outcome.requests <= 1 + 8 and outcome.inconsistencies == {"repeated_page"}
    assert seconds < 2  # was: one task per page, gigabytes, far past the deadline


class SlowDrip(httpx.AsyncByteStream):
    """A body that sends one byte every 0.3 s: each read is quick, the whole is slow."""

    async def __aiter__(self):
        for _ in range(20):
            await asyncio.sleep(0.3)
            yield b" "
        yield b'{"RetCode": 0, "ImageSet": []}'


def test_slow_drip_body_is_bounded_by_timeout_seconds() -> None:
    outcome, seconds = listing(
        lambda request: httpx.Response(200, stream=SlowDrip()), timeout=1.0, budget=8.0, retries=1
    )
    assert isinstance(outcome, RequestTimeout)  # was: read until the scrape deadline
    assert seconds < 4  # two attempts of about 1 s, not 8 s


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    outcome, _ = listing(
        lambda request: httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})
    )
    assert isinstance(outcome, DecodeError) and "larger than" in str(outcome)


def test_huge_gateway_message_is_truncated() -> None:
    answer = {"RetCode": 172, "Message": "x" * 1_000_000}
    outcome, _ = listing(lambda request: httpx.Response(200, json=answer))
    assert outcome.reason == "retcode_172" and len(str(outcome)) < 1000
