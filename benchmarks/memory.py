"""Case 4: memory and start-up of the real exporter process (``python -m exporter``).

RSS figures come from ``/proc/<pid>/status``: ``VmRSS`` (now) and ``VmHWM`` (peak).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from benchmarks.harness import SCRAPE_HEADERS, ExporterProcess, config, count_series, fleet
from benchmarks.report import Table, median
from exporter.simulator import Simulator

GROWTH_TOLERANCE_MIB = 4.0
GROWTH_TOLERANCE_SHARE = 0.05
SETTLE_SECONDS = 0.5


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of the memory case."""

    peak_regions: int
    peak_buckets: int  # per region
    peak_scrapes: int
    growth_regions: int
    growth_buckets: int  # per region
    growth_marks: tuple[int, ...]  # RSS is read after this many scrapes
    concurrent: int  # scrapes sent together to the peak fleet (render once, issue 14)


FULL = Plan(
    peak_regions=10,
    peak_buckets=10_000,
    peak_scrapes=5,
    growth_regions=10,
    growth_buckets=1_000,
    growth_marks=(10, 50, 100, 200),
    concurrent=32,
)
QUICK = Plan(
    peak_regions=2,
    peak_buckets=1_000,
    peak_scrapes=2,
    growth_regions=2,
    growth_buckets=200,
    growth_marks=(10, 30),
    concurrent=8,
)
RENDER_ONCE_GOAL = 1.5  # the slowest of the concurrent scrapes, against a lone one


def run(plan: Plan) -> Table:
    """Measure start-up, idle, peak and steady RSS; return the table."""
    table = Table(
        "memory",
        "Exporter process: start-up and RSS (page_size 100, in_flight 16, no injected latency)",
        ("measure", "buckets", "scrapes", "value", "unit"),
    )
    _startup(table, 1, 20)
    _peak(table, plan)
    _concurrent(table, plan)
    _growth(table, plan)
    table.notes += [
        "start-up = from spawning `python -m exporter --config.file ...` to its 'listening' "
        "log line, and to the end of the first successful scrape (every target up).",
        f"growth is judged flat when RSS after the last mark is within "
        f"{GROWTH_TOLERANCE_MIB:.0f} MiB or {GROWTH_TOLERANCE_SHARE:.0%} of RSS after the "
        "first; each scrape lists every target afresh (min_interval_seconds 0).",
    ]
    return table


def _startup(table: Table, regions: int, buckets: int) -> None:
    """Time spawn -> listening -> end of the first successful scrape (sent at once)."""
    with (
        Simulator(fleet([buckets] * regions)) as sim,
        ExporterProcess(config(sim.url, regions)) as exp,
    ):
        _complete(exp, regions, buckets)
        first = time.monotonic() - exp.spawned
        listening = exp.listening - exp.spawned
    total = regions * buckets
    table.add("start-up to listening", total, 0, listening, "s")
    table.add("start-up to first successful scrape", total, 1, first, "s")


def _peak(table: Table, plan: Plan) -> None:
    """Idle RSS, then scrape the big fleet a few times: time per scrape, peak and last RSS."""
    regions, buckets = plan.peak_regions, plan.peak_buckets
    with (
        Simulator(fleet([buckets] * regions)) as sim,
        ExporterProcess(config(sim.url, regions)) as exp,
    ):
        time.sleep(SETTLE_SECONDS)
        idle = exp.memory()["VmRSS"] / 1024
        times = []
        for _ in range(plan.peak_scrapes):
            started = time.monotonic()
            _complete(exp, regions, buckets)
            times.append(time.monotonic() - started)
        mem = exp.memory()
    total = regions * buckets
    table.add("idle RSS (listening, before any scrape)", total, 0, idle, "MiB")
    table.add("first scrape (listing + render)", total, 1, times[0], "s")
    if len(times) > 1:
        table.add("later scrapes, median", total, len(times) - 1, median(times[1:]), "s")
    table.add("peak RSS (VmHWM)", total, plan.peak_scrapes, mem["VmHWM"] / 1024, "MiB")
    table.add("RSS after the scrapes (VmRSS)", total, plan.peak_scrapes, mem["VmRSS"] / 1024, "MiB")


def _concurrent(table: Table, plan: Plan) -> None:
    """A lone gzip scrape of the peak fleet, then ``plan.concurrent`` sent together.

    Bodies are read raw (not decompressed): the client's own work is not the exporter's. The
    clients are made and connected first and released together by a barrier: making 32
    clients (a TLS context each) in the benchmark's process, beside the simulator, spread the
    requests over a third of a second, so that the last ones came after the shared listing
    and started another (a lone scrape of this fleet now takes about a second).
    """
    regions, buckets = plan.peak_regions, plan.peak_buckets
    with (
        Simulator(fleet([buckets] * regions)) as sim,
        ExporterProcess(config(sim.url, regions)) as exp,
    ):
        clients = [httpx.Client(timeout=600) for _ in range(plan.concurrent)]
        try:
            for client in clients:  # connected beforehand, as Prometheus servers are
                client.get(exp.url + "/-/healthy")
            _raw_scrape(clients[0], exp.url)  # warm up: the first render's write time
            lone = _raw_scrape(clients[0], exp.url)
            start = threading.Barrier(plan.concurrent)

            def together(client: httpx.Client) -> float:
                start.wait()
                return _raw_scrape(client, exp.url)

            with ThreadPoolExecutor(plan.concurrent) as pool:
                times = list(pool.map(together, clients))
        finally:
            for client in clients:
                client.close()
        peak = exp.memory()["VmHWM"] / 1024
    total = regions * buckets
    table.add("lone scrape (gzip)", total, 1, lone, "s")
    table.add(
        f"slowest of {plan.concurrent} concurrent scrapes (gzip)",
        total,
        plan.concurrent,
        max(times),
        "s",
    )
    table.add(
        f"slowest concurrent / lone (goal <= {RENDER_ONCE_GOAL})",
        total,
        plan.concurrent,
        max(times) / lone,
        "",
    )
    table.add(
        "peak RSS (VmHWM) after the concurrent scrapes", total, plan.concurrent + 2, peak, "MiB"
    )


def _raw_scrape(client: httpx.Client, url: str) -> float:
    """GET /metrics asking for gzip; read the body without decoding; return the seconds."""
    started = time.monotonic()
    headers = {**SCRAPE_HEADERS, "Accept-Encoding": "gzip"}
    with client.stream("GET", url + "/metrics", headers=headers) as r:
        for _ in r.iter_raw():
            pass
        if r.status_code != 200:
            raise RuntimeError(f"GET /metrics: HTTP {r.status_code}")
    return time.monotonic() - started


def _growth(table: Table, plan: Plan) -> None:
    """Read RSS after each mark of many fresh scrapes; judge growth first -> last."""
    regions, buckets = plan.growth_regions, plan.growth_buckets
    total = regions * buckets
    readings = []
    with (
        Simulator(fleet([buckets] * regions)) as sim,
        ExporterProcess(config(sim.url, regions)) as exp,
    ):
        done = 0
        for mark in plan.growth_marks:
            while done < mark:
                _complete(exp, regions, buckets)
                done += 1
            rss = exp.memory()["VmRSS"] / 1024
            readings.append(rss)
            table.add(f"RSS after {mark} scrapes", total, mark, rss, "MiB")
    growth = readings[-1] - readings[0]
    flat = growth <= max(GROWTH_TOLERANCE_MIB, GROWTH_TOLERANCE_SHARE * readings[0])
    table.add(
        f"growth {plan.growth_marks[0]} -> {plan.growth_marks[-1]} scrapes",
        total,
        plan.growth_marks[-1],
        growth,
        "MiB",
    )
    table.add("growth within noise", total, plan.growth_marks[-1], flat, "")


def _complete(exp: ExporterProcess, regions: int, buckets: int) -> None:
    """Scrape once and insist every target is up with every bucket present."""
    _, body = exp.scrape()
    if count_series(body, "ucloud_image_bucket_images") != regions * buckets:
        raise RuntimeError(f"incomplete scrape of {regions}x{buckets}:\n{exp.logs()[-2000:]}")
