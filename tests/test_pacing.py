"""Polite pacing: the AIMD in-flight limit per account, the rate limit, and a throttling API."""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import AsyncExitStack

import httpx
import pytest

from exporter.config import Account, Secret, UCloudSettings
from exporter.simulator import Simulator, fleet_from_dict
from exporter.ucloud import UCloudClient, list_image_buckets
from exporter.ucloud._pacing import Pacer


async def hold(pacer: Pacer, n: int, stack: AsyncExitStack) -> list[int]:
    return [await stack.enter_async_context(pacer.slot()) for _ in range(n)]


def test_a_throttled_round_halves_the_limit_once_then_it_grows_by_one_per_round():
    async def go() -> list[int]:
        pacer = Pacer(ceiling=8, adaptive=True)
        seen = []
        async with AsyncExitStack() as stack:
            epochs = await hold(pacer, 8, stack)
        for epoch in epochs:  # eight throttled answers of one round: one cut
            pacer.throttled(epoch)
        seen.append(pacer.limit)
        for _ in range(4 + 5 + 6):  # rounds of 4, 5 and 6 successes
            pacer.succeeded()
        seen.append(pacer.limit)
        async with AsyncExitStack() as stack:
            (epoch,) = await hold(pacer, 1, stack)
        pacer.throttled(epoch)
        seen.append(pacer.limit)
        for _ in range(100):
            pacer.succeeded()
        seen.append(pacer.limit)
        return seen

    assert asyncio.run(go()) == [4, 7, 3, 8]  # never above the ceiling


def test_the_limit_holds_requests_back():
    async def go() -> int:
        pacer = Pacer(ceiling=4, adaptive=True)
        pacer.throttled(0)  # limit 2
        running = most = 0

        async def request() -> None:
            nonlocal running, most
            async with pacer.slot():
                running += 1
                most = max(most, running)
                await asyncio.sleep(0.01)
                running -= 1

        await asyncio.gather(*(request() for _ in range(10)))
        return most

    assert asyncio.run(go()) == 2


def test_without_adaptive_concurrency_the_limit_stays():
    pacer = Pacer(ceiling=8, adaptive=False)
    pacer.throttled(0)
    assert pacer.limit == 8


def test_the_rate_limit_spaces_requests():
    async def go() -> float:
        pacer = Pacer(ceiling=100, adaptive=True, per_second=40)
        started = time.monotonic()
        for _ in range(60):  # a burst of 40, then 20 more at 40 a second
            async with pacer.slot():
                pass
        return time.monotonic() - started

    assert 0.45 < asyncio.run(go()) < 1.5


@pytest.mark.e2e
def test_a_throttling_api_is_paced_down_and_the_listing_finishes():
    """The simulator answers RetCode 153 beyond 50 requests a second (burst 25), 100 ms RTT."""
    regions = {f"r{i}": {"synthetic": 2000} for i in range(5)}  # 5 x 20 pages of 100
    fleet = fleet_from_dict(
        {
            "accounts": [
                {
                    "public_key": "p",
                    "private_key": "s",
                    "regions": regions,
                    "throttle": {"per_second": 50, "burst": 25},
                }
            ]
        }
    )
    account = Account(
        name="a", public_key="p", private_key=Secret("s"), project_id=None, regions=tuple(regions)
    )

    async def go(sim: Simulator, adaptive: bool) -> tuple[list[int], int]:
        settings = UCloudSettings(
            base_url=sim.url, retries=10, max_concurrent_requests=16, adaptive_concurrency=adaptive
        )
        client = UCloudClient(settings)
        try:
            listings = await asyncio.gather(
                *(
                    list_image_buckets(
                        client,
                        account,
                        region,
                        deadline=time.monotonic() + 30,
                        observe=lambda action, reason: None,
                    )
                    for region in regions
                )
            )
            return [len(x.buckets) for x in listings], client.concurrency_limits()["a"]
        finally:
            await client.aclose()

    with Simulator(fleet, latency=0.1) as sim:
        sizes, limit = asyncio.run(go(sim, adaptive=True))
        paced = sim.throttled
        sim.throttled = 0
        sizes_off, limit_off = asyncio.run(go(sim, adaptive=False))
        hammered = sim.throttled
    assert sizes == sizes_off == [2000] * 5
    assert limit < 16 and limit_off == 16
    print(f"throttled: {paced} paced, {hammered} at a fixed 16 in flight (of 100 pages)")
    assert paced < hammered / 2  # far fewer requests came back throttled with AIMD
    assert paced < 0.2 * 100  # mostly the first round's burst (benchmarks: the steady state)


def test_the_concurrency_limit_is_exposed_per_account():
    def throttle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"RetCode": 153, "Message": "too frequent"})

    async def go() -> dict[str, int]:
        client = UCloudClient(
            UCloudSettings(base_url="https://api.example/", retries=0),
            transport=httpx.MockTransport(throttle),
        )
        account = Account(
            name="busy", public_key="p", private_key=Secret("s"), project_id=None, regions=("hk",)
        )
        try:
            await list_image_buckets(
                client,
                account,
                "hk",
                deadline=time.monotonic() + 5,
                observe=lambda action, reason: None,
            )
        except Exception:
            pass
        finally:
            await client.aclose()
        return client.concurrency_limits()

    assert asyncio.run(go()) == {"busy": 4}  # 8 halved once


def test_a_cancelled_waiter_never_keeps_a_slot():
    async def go() -> bool:
        pacer = Pacer(ceiling=1, adaptive=False)

        async def wait_for_slot() -> None:
            async with pacer.slot():
                await asyncio.sleep(10)

        for cancel_after_handover in (False, True):
            stack = AsyncExitStack()
            await hold(pacer, 1, stack)
            waiter = asyncio.ensure_future(wait_for_slot())
            await asyncio.sleep(0)  # the waiter queues behind the held slot
            if cancel_after_handover:
                await stack.aclose()  # the slot is handed to the waiter ...
                waiter.cancel()  # ... which is cancelled before it runs
            else:
                waiter.cancel()
                await asyncio.sleep(0)
                await stack.aclose()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
            async with asyncio.timeout(1), pacer.slot():
                pass
        return True

    assert asyncio.run(go())
