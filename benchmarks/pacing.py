"""Case 6: polite pacing (issue 14) against a throttling API.

The simulator answers RetCode 153 to an account that asks faster than N requests a second
(a token bucket with a burst). The exporter's client lists every region of that account with
adaptive concurrency (AIMD) on, then off; the table shows the rate it settled at, the share of
requests throttled, and that the listing finished.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from benchmarks.harness import PRIVATE_KEY, PUBLIC_KEY, list_regions
from benchmarks.report import Table
from exporter.config import UCloudSettings
from exporter.simulator import Simulator, fleet_from_dict

RATE_SHARE_GOAL = 0.6  # settle at no less than 0.6 N
THROTTLED_GOAL = 0.10  # and with fewer than 10 % of the requests throttled


@dataclass(frozen=True)
class Plan:
    """The throttle and the work."""

    per_second: float
    burst: float
    rtt: float
    regions: int
    pages: int  # per region, of 100 buckets


FULL = Plan(per_second=30, burst=15, rtt=0.2, regions=10, pages=40)
QUICK = Plan(per_second=30, burst=5, rtt=0.1, regions=4, pages=5)


def run(plan: Plan) -> Table:
    """List the throttled account with adaptive concurrency on and off."""
    table = Table(
        "pacing",
        f"Throttled API: N = {plan.per_second:g} requests/s (burst "
        f"{plan.burst:g}), RTT {plan.rtt * 1000:.0f} ms, {plan.regions} regions x "
        f"{plan.pages} pages, 8 in flight at most",
        (
            "adaptive",
            "requests",
            "throttled",
            "throttled_share",
            "rate_per_s",
            "rate/N",
            "seconds",
            "finished",
            "holds",
        ),
    )
    for adaptive in (True, False):
        requests, throttled, seconds, finished = _list(plan, adaptive=adaptive)
        rate = (requests - throttled) / seconds
        holds = (
            finished
            and rate >= RATE_SHARE_GOAL * plan.per_second
            and throttled < THROTTLED_GOAL * requests
        )
        table.add(
            adaptive,
            requests,
            throttled,
            throttled / requests,
            rate,
            rate / plan.per_second,
            seconds,
            finished,
            holds if adaptive else "-",
        )
    table.notes += [
        f"holds: the listing finished at >= {RATE_SHARE_GOAL} N successful requests a second "
        f"with < {THROTTLED_GOAL:.0%} of requests throttled (adaptive on; the row with it off "
        "is for comparison). rate = successful requests / wall time.",
    ]
    return table


def _list(plan: Plan, *, adaptive: bool) -> tuple[int, int, float, bool]:
    regions = {f"r{i}": {"synthetic": plan.pages * 100} for i in range(plan.regions)}
    fleet = fleet_from_dict(
        {
            "accounts": [
                {
                    "public_key": PUBLIC_KEY,
                    "private_key": PRIVATE_KEY,
                    "regions": regions,
                    "throttle": {"per_second": plan.per_second, "burst": plan.burst},
                }
            ]
        }
    )
    with Simulator(fleet, latency=plan.rtt) as sim:
        settings = UCloudSettings(
            base_url=sim.url, retries=10, adaptive_concurrency=adaptive, timeout_seconds=30
        )
        started = time.monotonic()
        done = asyncio.run(list_regions(settings, list(regions)))
        finished = not any(isinstance(d, BaseException) for d in done)
        seconds = time.monotonic() - started
        return sim.request_count(), sim.throttled, seconds, finished
