"""Region discovery (``regions: auto``) in process: RegionBook against httpx.MockTransport."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable

import httpx

from exporter import metrics
from exporter.config import Account, Secret, UCloudSettings
from exporter.discovery import RegionBook
from exporter.ucloud import UCloudClient
from tests.support.inprocess import ACCOUNT

DISCOVERED = dataclasses.replace(ACCOUNT, regions=(), discover_regions=True)
ZONES = {
    "RetCode": 0,
    "Regions": [
        {"Region": "cn-bj2", "Zone": "cn-bj2-02"},
        {"Region": "cn-bj2", "Zone": "cn-bj2-05"},
        {"Region": "hk", "Zone": "hk-02"},
    ],
}
Handler = Callable[[httpx.Request], httpx.Response]


def rounds(
    answers: list[httpx.Response], refresh_seconds: float, calls: int, pause: float = 0.0
) -> tuple[list[tuple[str, ...]], RegionBook, list[httpx.Request]]:
    """Ask a RegionBook for DISCOVERED's regions ``calls`` times; the API gives ``answers``."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    settings = UCloudSettings(base_url="https://api.example/", retries=0)

    async def go() -> tuple[list[tuple[str, ...]], RegionBook]:
        client = UCloudClient(settings, transport=httpx.MockTransport(answer), rng=random.Random(0))
        book, got = RegionBook(client, refresh_seconds=refresh_seconds), []
        try:
            for _ in range(calls):
                got.append(
                    await book.regions(
                        DISCOVERED, deadline=time.monotonic() + 5, observe=lambda *_: None
                    )
                )
                await asyncio.sleep(pause)
        finally:
            await client.aclose()
        return got, book

    got, book = asyncio.run(go())
    return got, book, seen


def gauges(book: RegionBook) -> dict[str, float | None]:
    """Return the book's gauges for account "a" by family name (None: no sample)."""
    return {
        family.name: next((s.value for s in family.samples if s.labels == {"account": "a"}), None)
        for family in book.families()
    }


def test_regions_are_deduplicated_by_region_in_first_seen_order() -> None:
    got, book, seen = rounds([httpx.Response(200, json=ZONES)], 3600, 1)
    assert got == [("cn-bj2", "hk")] and book.known(DISCOVERED) == ("cn-bj2", "hk")
    assert len(seen) == 1 and b"Action=GetRegion" in seen[0].content
    found = gauges(book)
    assert found[metrics.DISCOVERY_OK.name] == 1 and found[metrics.DISCOVERY_REGIONS.name] == 2
    assert abs((found[metrics.DISCOVERY_TIME.name] or 0) - time.time()) < 60


def test_the_list_is_refreshed_only_after_the_interval() -> None:
    _, _, seen = rounds([httpx.Response(200, json=ZONES)], 3600, 3)
    assert len(seen) == 1  # served from the book
    _, _, seen = rounds([httpx.Response(200, json=ZONES)], 0.05, 3, pause=0.1)
    assert len(seen) == 3


def test_a_failed_refresh_keeps_the_last_list() -> None:
    answers = [
        httpx.Response(200, json=ZONES),
        httpx.Response(200, json={"RetCode": 171}),
        httpx.Response(503),
    ]
    got, book, seen = rounds(answers, 0.05, 3, pause=0.1)
    assert len(seen) == 3 and got == [("cn-bj2", "hk")] * 3
    found = gauges(book)
    assert found[metrics.DISCOVERY_OK.name] == 0 and found[metrics.DISCOVERY_REGIONS.name] == 2
    assert found[metrics.DISCOVERY_TIME.name] is not None  # the first success stays


def test_configured_regions_need_no_call() -> None:
    book = RegionBook(
        UCloudClient(UCloudSettings(base_url="https://api.example/")), refresh_seconds=1
    )
    assert book.known(ACCOUNT) == ("r",)
    assert asyncio.run(
        book.regions(ACCOUNT, deadline=time.monotonic() + 1, observe=lambda *_: None)
    ) == ("r",)
    assert all(not f.samples for f in book.families())


def test_a_failed_discovery_is_due_again_soon_not_after_the_refresh_interval() -> None:
    """Was: a first GetRegion that failed left the account without targets for an hour."""
    answers = [{"RetCode": 150, "Message": "busy"}, {"RetCode": 0, "Regions": [{"Region": "hk"}]}]
    calls: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        calls.append(request.content.decode())
        return httpx.Response(200, json=answers[min(len(calls), len(answers)) - 1])

    account = Account(name="a", public_key="p", private_key=Secret("s"), project_id=None,
                      regions=(), discover_regions=True)  # fmt: skip

    async def go() -> list[tuple[str, ...]]:
        settings = UCloudSettings(base_url="https://api.example/", retries=0)
        client = UCloudClient(settings, transport=httpx.MockTransport(gateway))
        book = RegionBook(client, refresh_seconds=3600, retry_seconds=0.2)
        seen = []
        for pause in (0.0, 0.0, 0.25, 0.0):
            await asyncio.sleep(pause)
            seen.append(await book.regions(account, deadline=time.monotonic() + 5, observe=none))
        await client.aclose()
        return seen

    assert asyncio.run(go()) == [(), (), ("hk",), ("hk",)]
    assert len(calls) == 2  # failed, not again at once, again after 0.2 s; then cached


def none(action: str, reason: str | None) -> None:
    """An Observer that records nothing."""
