"""Case 5: a hostile gateway (issue 10): calls per listing, peak RSS and answer time.

The simulator serves quirky regions (``exporter.simulator.Quirks``): a lying ``TotalCount``,
ignored ``Offset`` and ``Limit``, and a flood of 50,000 entries on every page whatever the
request says. Calls are counted by the simulator; RSS is the exporter process's ``VmHWM``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.harness import PRIVATE_KEY, PUBLIC_KEY, ExporterProcess, list_regions
from benchmarks.report import Table
from exporter.config import UCloudSettings
from exporter.simulator import Simulator, fleet_from_dict

RSS_GOAL_MIB = 256.0
PAGE, WINDOW = 100, 8  # the default page_size and max_concurrent_requests
HEALTHY = ("cn-bj2", "cn-sh2", "hk", "sg")

# name: (region spec, real pages a listing needs)
LISTINGS: dict[str, tuple[dict[str, Any], int]] = {
    "TotalCount 100,000, 5 real buckets": ({"synthetic": 5, "quirks": {"total_count": 100_000}}, 1),
    "TotalCount 1,000, 250 real buckets": ({"synthetic": 250, "quirks": {"total_count": 1_000}}, 3),
    "Offset ignored, 5,000 buckets": ({"synthetic": 5_000, "quirks": {"ignore_offset": True}}, 1),
    "Offset and Limit ignored, 5,000 buckets": (
        {"synthetic": 5_000, "quirks": {"ignore_offset": True, "ignore_limit": True}},
        1,
    ),
    "honest gateway, 1,234 buckets": ({"synthetic": 1_234}, 13),
}


@dataclass(frozen=True)
class Plan:
    """Sizes of the flood scenario."""

    flood_entries: int
    scrapes: int
    header: float


FULL = Plan(flood_entries=50_000, scrapes=5, header=10.0)
QUICK = Plan(flood_entries=2_000, scrapes=1, header=2.0)


def run(plan: Plan) -> Table:
    """Measure calls per listing, then peak RSS and answer time under a flood."""
    table = Table(
        "hostile",
        "Hostile gateway: calls per listing (bound = real pages + "
        f"window {WINDOW}), flood RSS and answer time",
        ("scenario", "measure", "value", "bound", "holds"),
    )
    _calls(table)
    _flood(table, plan)
    table.notes += [
        "calls: one listing with the default page_size 100 and max_concurrent_requests 8, "
        "counted by the simulator.",
        f"flood: one target answering {plan.flood_entries:,} entries on every page whatever "
        "Offset and Limit say (TotalCount 1,000,000), next to four healthy targets and one "
        f"that hangs; {plan.scrapes} scrapes with a {plan.header:g} s timeout header.",
    ]
    return table


def _calls(table: Table) -> None:
    regions = {name: spec for name, (spec, _) in LISTINGS.items()}
    fleet = fleet_from_dict(
        {"accounts": [{"public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY, "regions": regions}]}
    )
    with Simulator(fleet) as sim:
        for name, (_, real) in LISTINGS.items():
            sim.reset_counts()
            (outcome,) = asyncio.run(
                list_regions(UCloudSettings(base_url=sim.url), [name], budget=60)
            )
            if isinstance(outcome, BaseException):
                raise outcome
            calls = sim.request_count(region=name)
            table.add(name, "calls per listing", calls, real + WINDOW, calls <= real + WINDOW)


def _flood(table: Table, plan: Plan) -> None:
    quirks = {"ignore_offset": True, "ignore_limit": True, "total_count": 1_000_000}
    regions = {
        **{r: {"synthetic": 50} for r in HEALTHY},
        "flood": {"synthetic": plan.flood_entries, "quirks": quirks},
        "hang": {"synthetic": 1, "quirks": {"delay_seconds": 120}},
    }
    fleet = fleet_from_dict(
        {"accounts": [{"public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY, "regions": regions}]}
    )
    cfg = {
        "ucloud": {"base_url": "", "timeout_seconds": 60, "retries": 0},
        "accounts": [
            {
                "name": "bench",
                "public_key": PUBLIC_KEY,
                "private_key": PRIVATE_KEY,
                "regions": list(regions),
            }
        ],
    }
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": str(plan.header)}
    with Simulator(fleet) as sim:
        cfg["ucloud"]["base_url"] = sim.url  # type: ignore[index]
        with ExporterProcess(cfg) as exp, httpx.Client(timeout=60) as http:
            times, healthy = [], True
            for _ in range(plan.scrapes):
                started = time.monotonic()
                body = http.get(exp.url + "/metrics", headers=headers).text
                times.append(time.monotonic() - started)
                healthy &= all(
                    re.search(f'ucloud_image_bucket_up{{account="bench",project="[^"]+",'
                              f'region="{r}"}} 1.0', body)
                    for r in HEALTHY
                )  # fmt: skip
            peak = exp.memory()["VmHWM"] / 1024
        flood_calls = sim.request_count(region="flood") / plan.scrapes
    table.add("flood", "peak RSS (VmHWM), MiB", peak, RSS_GOAL_MIB, peak < RSS_GOAL_MIB)
    table.add("flood", "slowest answer, s", max(times), plan.header, max(times) < plan.header)
    table.add("flood", "healthy targets up in every scrape", healthy, True, healthy)
    table.add(
        "flood", "calls per flood listing", flood_calls, 1 + WINDOW, flood_calls <= 1 + WINDOW
    )
