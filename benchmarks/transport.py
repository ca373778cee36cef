"""Case 7: the HTTP transport and event loop of the API client (issue 14), side by side.

Each variant is the real exporter process (``python -m exporter``) started with
``--ucloud.transport`` (httpx's own transport, httpcore, or ``httpx-aiohttp``) and
``--ucloud.event-loop`` (asyncio's default loop or ``uvloop``). Figures:

- CPU per upstream request at zero latency: the exporter process's CPU (``/proc/PID/stat``)
  for one whole ``GET /metrics`` -- listing every region, rendering their bucket series and
  answering -- divided by the API requests of that scrape. Steady state: the client and its
  connections live on between scrapes, as in the exporter, so one warm-up scrape comes first.
  The simulator runs in the benchmark's process, so none of its CPU is counted.
- Wall time of a scrape (rendering included) at 100 ms RTT against the physical bound: one RTT
  for the first pages, then ``ceil(remaining pages / in flight)`` RTTs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.harness import ExporterProcess, config, count_series, fleet
from benchmarks.report import Table, median
from exporter.loops import LOOPS, loop_kind
from exporter.simulator import Simulator
from exporter.ucloud import TRANSPORTS

IN_FLIGHT = 8
PAGE = 100
RTT = 0.1
NAMES = {"httpx": "httpx (httpcore)", "aiohttp": "httpx-aiohttp"}


@dataclass(frozen=True)
class Plan:
    """Sizes: the zero-latency CPU run and the 100 ms RTT wall-time run."""

    cpu_regions: int
    cpu_buckets: int  # per region
    rtt_regions: int
    rtt_buckets: int
    repeats: int


FULL = Plan(cpu_regions=8, cpu_buckets=2_500, rtt_regions=8, rtt_buckets=1_000, repeats=5)
QUICK = Plan(cpu_regions=2, cpu_buckets=1_000, rtt_regions=2, rtt_buckets=500, repeats=2)


def run(plan: Plan) -> Table:
    """Measure every transport on every event loop; return the table."""
    table = Table(
        "transport",
        "Client transport and event loop: exporter CPU per upstream request at zero latency "
        f"(render included), scrape wall time at 100 ms RTT ({IN_FLIGHT} in flight, page {PAGE})",
        (
            "transport",
            "loop",
            "default",
            "requests",
            "cpu_ms_per_request",
            "changed_ms",
            "serve_ms",
            "listing_ms",
            "rtt_wall_s",
            "bound_s",
            "wall/bound",
        ),
    )
    bound = bound_seconds(plan.rtt_regions, plan.rtt_buckets, IN_FLIGHT, RTT)
    with (
        Simulator(fleet([plan.cpu_buckets] * plan.cpu_regions)) as fast,
        Simulator(fleet([plan.cpu_buckets] * plan.cpu_regions), drift=True) as drifting,
        Simulator(fleet([plan.rtt_buckets] * plan.rtt_regions), latency=RTT) as slow,
    ):
        for transport in TRANSPORTS:
            for loop in LOOPS[1:]:  # asyncio, uvloop (auto is one of them)
                flags = ("--ucloud.transport", transport, "--ucloud.event-loop", loop)
                requests, cpu = _cpu(fast, plan.cpu_regions, plan.cpu_buckets, plan, flags)
                _, changed = _cpu(drifting, plan.cpu_regions, plan.cpu_buckets, plan, flags)
                _, serve = _cpu(fast, plan.cpu_regions, plan.cpu_buckets, plan, flags, cached=True)
                wall = _wall(slow, plan.rtt_regions, plan.rtt_buckets, plan, flags)
                default = transport == TRANSPORTS[0] and loop == loop_kind(LOOPS[0])
                table.add(
                    NAMES[transport],
                    loop,
                    default,
                    requests,
                    cpu * 1000,
                    changed * 1000,
                    serve * 1000,
                    (cpu - serve) * 1000,
                    wall,
                    bound,
                    wall / bound,
                )
    table.notes += [
        "cpu_ms_per_request: CPU of the exporter process for one scrape at zero latency "
        "(listing, rendering 2 series per bucket, answering), divided by that scrape's API "
        "requests; median of the repeats after a warm-up scrape; the simulator is in another "
        "process. /proc's CPU clock ticks at 10 ms, so each scrape is sized to cost >= 200 ms. "
        "The buckets are the same at every scrape, so each target's lines come from the line "
        "cache (exporter/exposition.py, LineCache) after one comparison of its columns.",
        "changed_ms: the same with the simulator's drift on: a few image counts change in every "
        "region before each listing, so every target's lines are written anew at every scrape.",
        "serve_ms: the same for a scrape answered from the cache (min_interval_seconds), per "
        "request of a listing: rendering, gzip (asked for, as Prometheus does) and the answer; "
        "listing_ms = cpu_ms_per_request - serve_ms, the API client's share.",
        "rtt_wall_s: median whole GET /metrics at 100 ms RTT; bound: one RTT for page 1 plus "
        "ceil(remaining pages / in flight) RTTs. default: what the exporter uses without flags.",
    ]
    return table


def bound_seconds(regions: int, buckets: int, in_flight: int, rtt: float) -> float:
    """Return the physical bound: page 1 of every region, then the rest at ``in_flight``."""
    return rtt * (1 + math.ceil((sim_pages(regions, buckets) - regions) / in_flight))


def _cpu(
    sim: Simulator,
    regions: int,
    buckets: int,
    plan: Plan,
    flags: tuple[str, ...],
    *,
    cached: bool = False,
) -> tuple[int, float]:
    """Return (requests per listing, median exporter CPU seconds per request of a listing).

    ``cached``: every scrape after the warm-up is answered from the cache (no listing).
    """
    cpus, requests = [], sim_pages(regions, buckets)
    interval = 86_400.0 if cached else 0.0
    cfg = config(sim.url, regions, in_flight=IN_FLIGHT, min_interval=interval)
    with ExporterProcess(cfg, *flags) as exporter:
        _scrape(exporter, regions * buckets)  # warm-up: connections, lazy imports
        for _ in range(plan.repeats):
            sim.reset_counts()
            before = exporter.cpu_seconds()
            _scrape(exporter, regions * buckets)
            cpu = exporter.cpu_seconds() - before
            if sim.request_count(action="GetImageBucketList") != (0 if cached else requests):
                raise RuntimeError(f"unexpected API calls ({'cached' if cached else 'listing'})")
            cpus.append(cpu / requests)
    return requests, median(cpus)


def sim_pages(regions: int, buckets: int) -> int:
    """Return the API requests of one listing of every region."""
    return regions * max(1, math.ceil(buckets / PAGE))


def _wall(sim: Simulator, regions: int, buckets: int, plan: Plan, flags: tuple[str, ...]) -> float:
    """Return the median scrape seconds at the simulator's latency."""
    walls = []
    with ExporterProcess(config(sim.url, regions, in_flight=IN_FLIGHT), *flags) as exporter:
        _scrape(exporter, regions * buckets)
        for _ in range(plan.repeats):
            walls.append(_scrape(exporter, regions * buckets))
    return median(walls)


def _scrape(exporter: ExporterProcess, buckets: int) -> float:
    """Scrape once; check every bucket is there; return the seconds."""
    seconds, body = exporter.scrape()
    found = count_series(body, "ucloud_image_bucket_images")
    if found != buckets:
        raise RuntimeError(f"scrape has {found} buckets, want {buckets}\n{exporter.logs()[-2000:]}")
    return seconds
