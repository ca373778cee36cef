"""How long a scrape waits: the timeout header, and the time its answer will take to write."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from exporter.config import Account, CollectSettings, Config, Secret, UCloudSettings
from exporter.engine import Engine
from exporter.simulator import Simulator, fleet_from_dict
from exporter.ucloud import UCloudClient
from exporter.web.app import App
from exporter.web.budget import WriteCost, scrape_budget
from tests.support.asgi import call, runtime_on
from tests.support.procs import config_for


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


@pytest.mark.e2e
def test_the_write_budget_counts_uhub_series_not_only_buckets(tmp_path):
    """Issue 20: the reserve counted buckets only, so a page with many UHub series waited for
    a hung target until its budget was spent, and was written after its deadline."""
    fleet = fleet_from_dict(
        {
            "accounts": [
                {
                    "public_key": "budget-public",
                    "private_key": "budget-private",
                    "regions": {"hk": {"synthetic": 5, "quirks": {"delay_seconds": 30}}},
                    "repos": [{"name": "big", "images": 10_000}],
                }
            ]
        }
    )
    account = {
        "name": "a",
        "public_key": "budget-public",
        "private_key": "budget-private",
        "regions": ["hk"],
        "uhub": True,
    }
    cost = WriteCost()
    cost.learn("/metrics", 100_000, 5.0)  # 50 us a series: 20,000 UHub series take 1 s
    with (
        Simulator(fleet) as sim,
        runtime_on(
            tmp_path,
            config_for(sim.url, [account], uhub={"tag_counts": "off"}, ucloud={"page_size": 1000}),
        ) as (runtime, _),
    ):
        deadline = time.monotonic() + 30
        while not any(s.up for s in runtime.engine.uhub.states()):
            assert time.monotonic() < deadline, "UHub was not listed"
            time.sleep(0.1)
        app = App(runtime, write_cost=cost)
        started = time.monotonic()
        answer = call(app, headers={"X-Prometheus-Scrape-Timeout-Seconds": "4.5"})
        elapsed = time.monotonic() - started
    assert answer.status == 200
    assert answer.text.count("ucloud_uhub_image_updated_timestamp_seconds{") == 10_000
    # 4 s of budget, 1.25 s held back for 20,000 series: waiting stopped at about 2.75 s, then
    # the render (a loaded machine's slower); without the reserve it waits the whole 4 s
    assert 2.4 < elapsed < 3.9, elapsed
