"""How long a scrape waits: the timeout header, and the time its answer will take to write."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.engine import Engine
from exporter.ucloud import UCloudClient
from exporter.web.budget import WriteCost, scrape_budget


@pytest.mark.parametrize(
    ("header", "budget"),
    [
        ("10", 9.5),
        ("1e10", 599.5),
        ("600.5", 599.5),
        ("inf", 59.5),
        ("-inf", 59.5),
        ("nan", 59.5),
        ("0", 59.5),
        ("-3", 59.5),
        ("junk", 59.5),
        (None, 59.5),
        ("0.2", 0.1),
    ],
)
def test_scrape_budget_from_the_timeout_header(header, budget):
    assert scrape_budget(header, 0.5) == pytest.approx(budget)


def test_the_write_cost_is_learned_per_page_and_capped():
    cost = WriteCost()
    assert cost.reserve("/metrics", 200_000, 10) == pytest.approx(1.25)  # the prior, 5 us
    cost.learn("/metrics", 200_000, 0.5)  # 2.5 us a series
    assert cost.reserve("/metrics", 400_000, 10) == pytest.approx(1.25)
    assert cost.reserve("/metrics", 10_000_000, 10) == 5  # never more than half the budget
    cost.learn("/metrics", 10, 0.3)  # a tiny answer is mostly fixed costs: nothing learned
    assert cost.reserve("/metrics", 400_000, 10) == pytest.approx(1.25)
    assert cost.reserve("/probe?account=a&region=", 200_000, 10) == pytest.approx(1.25)


def test_waiting_stops_early_enough_to_write_what_has_arrived():
    async def answer(request: httpx.Request) -> httpx.Response:
        if b"Region=hk" in request.content:
            await asyncio.sleep(5)  # hangs
        items = [
            {"BucketName": f"b{i}", "BucketType": "Private", "ImageCount": 1, "CreateTime": 1}
            for i in range(50)
        ]
        return httpx.Response(200, json={"RetCode": 0, "TotalCount": 50, "ImageSet": items})

    account = Account(
        name="a", public_key="p", private_key=Secret("s"), project_id=None, regions=("cn-bj2", "hk")
    )
    cfg = Config(
        ucloud=UCloudSettings(base_url="https://api.example/"),
        collect=CollectSettings(),
        accounts=(account,),
    )
    engine = Engine(cfg, client=UCloudClient(cfg.ucloud, transport=httpx.MockTransport(answer)))
    try:
        started = time.monotonic()
        results = engine.collect(timeout=1.5, reserve=lambda buckets: 0.02 * buckets)
        elapsed = time.monotonic() - started
        assert [r.ok for r in results] == [True, False]
        assert 0.4 < elapsed < 0.7  # 1.5 s less the 1 s that writing 50 buckets "takes"
    finally:
        engine.close(wait=5)
