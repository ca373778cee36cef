"""Case 7: the HTTP transport under the client (issue 14), side by side in one run.

httpx's own transport (httpcore) against ``httpx-aiohttp`` (the same httpx API through the
public ``transport=`` argument), each on asyncio's default event loop and on ``uvloop``. The
simulator runs in its own process, so the CPU measured (``time.process_time``) is the client's:
signing, the HTTP exchange, JSON decoding and paging, per upstream request.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.harness import list_regions
from benchmarks.report import Table
from exporter.config import UCloudSettings
from exporter.simulator import region_id

IN_FLIGHT = 8
PAGE = 100


@dataclass(frozen=True)
class Plan:
    """Sizes: zero-latency CPU run and the 100 ms RTT wall-time run."""

    cpu_regions: int
    cpu_buckets: int  # per region
    rtt_regions: int
    rtt_buckets: int
    repeats: int


FULL = Plan(cpu_regions=4, cpu_buckets=5_000, rtt_regions=8, rtt_buckets=1_000, repeats=3)
QUICK = Plan(cpu_regions=2, cpu_buckets=1_000, rtt_regions=2, rtt_buckets=500, repeats=1)


def run(plan: Plan) -> Table:
    """Measure every variant that is installed; return the table."""
    table = Table(
        "transport",
        "Client transport: CPU per upstream request at zero latency, "
        f"wall time at 100 ms RTT ({IN_FLIGHT} in flight, page {PAGE})",
        (
            "transport",
            "loop",
            "requests",
            "cpu_ms_per_request",
            "rtt_wall_s",
            "bound_s",
            "wall/bound",
        ),
    )
    variants = [(t, loop) for t in _transports() for loop in _loops()]
    with (
        _simulator(plan.cpu_regions, plan.cpu_buckets, 0.0) as fast,
        _simulator(plan.rtt_regions, plan.rtt_buckets, 0.1) as slow,
    ):
        for (name, make), (loop_name, runner) in variants:
            cpus, requests = [], 0
            for _ in range(plan.repeats):
                started = time.process_time()
                requests = runner(_list_all(fast, plan.cpu_regions, make))
                cpus.append((time.process_time() - started) / requests)
            walls = []
            for _ in range(plan.repeats):
                started = time.monotonic()
                runner(_list_all(slow, plan.rtt_regions, make))
                walls.append(time.monotonic() - started)
            bound = _bound(plan.rtt_regions, plan.rtt_buckets, 0.1)
            table.add(
                name, loop_name, requests, min(cpus) * 1000, min(walls), bound, min(walls) / bound
            )
    table.notes += [
        "cpu_ms_per_request: the client process's CPU for listing every region concurrently, "
        "divided by the requests (best of the repeats; the simulator is another process).",
        "bound: one RTT for page 1 plus ceil(remaining pages / in flight) RTTs.",
    ]
    return table


def _transports() -> list[tuple[str, Callable[[], httpx.AsyncBaseTransport | None]]]:
    found: list[tuple[str, Callable[[], httpx.AsyncBaseTransport | None]]] = [
        ("httpx (httpcore)", lambda: None)
    ]
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return found
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    found.append(("httpx-aiohttp", lambda: AiohttpTransport(limits=limits)))
    return found


def _loops() -> list[tuple[str, Callable[[Coroutine[Any, Any, int]], int]]]:
    found: list[tuple[str, Callable[[Coroutine[Any, Any, int]], int]]] = [("asyncio", asyncio.run)]
    try:
        import uvloop
    except ImportError:
        return found
    found.append(("uvloop", uvloop.run))
    return found


async def _list_all(url: str, regions: int, make: Callable[[], Any]) -> int:
    settings = UCloudSettings(
        base_url=url,
        max_concurrent_requests=IN_FLIGHT,
        page_size=PAGE,
        retries=0,
        timeout_seconds=30,
    )
    done = await list_regions(
        settings, [region_id(i) for i in range(regions)], transport=make(), budget=120
    )
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return sum(listing.requests for listing in done if not isinstance(listing, BaseException))


def _bound(regions: int, buckets: int, rtt: float) -> float:
    pages = regions * -(-buckets // PAGE)
    return rtt * (1 + -(-(pages - regions) // IN_FLIGHT))


class _simulator:  # noqa: N801 - used as a context manager, like a function
    """``python -m exporter.simulator --fleet synthetic`` in its own process."""

    def __init__(self, regions: int, buckets: int, latency: float) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "exporter.simulator",
            "--fleet",
            "synthetic",
            "--regions",
            str(regions),
            "--buckets",
            str(buckets),
            "--latency",
            str(latency),
        ]

    def __enter__(self) -> str:
        self._proc = subprocess.Popen(self._argv, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # "listening on URL"
        return line.split()[-1]

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
