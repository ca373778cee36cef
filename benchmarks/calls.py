"""Case 3: upstream calls are exact, shared by concurrent scrapes, and cached when asked.

Counts come from the simulator's ``request_count``; they are deterministic, so the smoke test
asserts them exactly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from benchmarks.harness import ExporterProcess, config, fleet, pages
from benchmarks.report import Table, median
from exporter.simulator import Fault, Simulator, region_id

ACTION = "GetImageBucketList"
PAGE_SIZE = 100
CONCURRENT = 32
HOLD_SECONDS = 1.5  # first pages of the shared collection answer this late


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of the calls case."""

    sizes: tuple[int, ...]  # buckets of each target (one region each)
    scrapes: int  # sequential scrapes checked per target
    cached_scrapes: int  # scrapes inside the min_interval_seconds window
    latency: float


FULL = Plan(
    sizes=(0, 1, 99, 100, 101, 250, 1000, 10000), scrapes=3, cached_scrapes=10, latency=0.02
)
QUICK = Plan(sizes=(0, 1, 100, 101, 250), scrapes=2, cached_scrapes=5, latency=0.01)


def run(plan: Plan) -> Table:
    """Check every count of ``plan``; return the table."""
    table = Table(
        "calls",
        f"Upstream {ACTION} calls (page_size {PAGE_SIZE})",
        (
            "check",
            "scrapes",
            "expected_calls",
            "measured_calls",
            "exact",
            "median_scrape_s",
            "slowest_scrape_s",
        ),
    )
    with Simulator(fleet(list(plan.sizes)), latency=plan.latency) as sim:
        with ExporterProcess(config(sim.url, len(plan.sizes), page_size=PAGE_SIZE)) as exp:
            _per_target(table, plan, sim, exp)
            _single_flight(table, plan, sim, exp)
        with ExporterProcess(
            config(sim.url, len(plan.sizes), page_size=PAGE_SIZE, min_interval=300)
        ) as exp:
            _cached(table, plan, sim, exp)
    with (
        Simulator(fleet([1]), latency=plan.latency) as sim,
        ExporterProcess(config(sim.url, 1, min_interval=300)) as exp,
    ):
        exp.scrape()
        _cached_burst(table, f"tiny cache (1 bucket): {CONCURRENT} concurrent scrapes", sim, exp)
    table.notes += [
        "expected per target and scrape: max(1, ceil(B / page_size)); each scrape is "
        "checked on its own, the row shows the sums.",
        f"{CONCURRENT} concurrent scrapes: sent together while one collection runs (its "
        f"first pages held {HOLD_SECONDS:.1f} s by a simulator fault), they must cost "
        "exactly one collection's calls and see the same bucket series.",
        "median/slowest_scrape_s of concurrent scrapes: identical scrapes share one page "
        "(exporter/web/share.py), made once and written to each client; the one-collection "
        f"row includes the {HOLD_SECONDS:.1f} s hold. With the tiny cache, ~1 s would mean "
        "dropped handshakes retried after 1 s (the server listens with a backlog of 2048).",
    ]
    return table


def _per_target(table: Table, plan: Plan, sim: Simulator, exp: ExporterProcess) -> None:
    """Scrape sequentially; each target must cost exactly its pages, every scrape."""
    measured: list[list[int]] = [[] for _ in plan.sizes]
    for _ in range(plan.scrapes):
        sim.reset_counts()
        exp.scrape()
        for i, counts in enumerate(measured):
            counts.append(sim.request_count(action=ACTION, region=region_id(i)))
    for size, counts in zip(plan.sizes, measured, strict=True):
        want = pages(size, PAGE_SIZE)
        table.add(
            f"one target, B={size}",
            plan.scrapes,
            want * plan.scrapes,
            sum(counts),
            counts == [want] * plan.scrapes,
            None,
            None,
        )


def _single_flight(table: Table, plan: Plan, sim: Simulator, exp: ExporterProcess) -> None:
    """Send concurrent scrapes during one slow collection; it must run only once."""
    sim.reset_counts()
    sim.add_fault(Fault(delay=HOLD_SECONDS, times=len(plan.sizes)), action=ACTION)
    bodies, failures, times = concurrent_scrapes(exp, CONCURRENT)
    sim.clear_faults()
    want = sum(pages(size, PAGE_SIZE) for size in plan.sizes)
    got = sim.request_count(action=ACTION)
    same = len({_buckets_part(b) for b in bodies}) == 1
    table.add(
        f"{CONCURRENT} concurrent scrapes, one collection",
        CONCURRENT,
        want,
        got,
        got == want and not failures and same,
        *_spread(times),
    )


def _cached(table: Table, plan: Plan, sim: Simulator, exp: ExporterProcess) -> None:
    """With min_interval_seconds, only the first scrape may call the API."""
    sim.reset_counts()
    exp.scrape()
    want = sum(pages(size, PAGE_SIZE) for size in plan.sizes)
    got = sim.request_count(action=ACTION)
    table.add("min_interval 300 s: first scrape", 1, want, got, got == want, None, None)
    sim.reset_counts()
    for _ in range(plan.cached_scrapes):
        exp.scrape()
    got = sim.request_count(action=ACTION)
    table.add(
        "min_interval 300 s: scrapes within it", plan.cached_scrapes, 0, got, got == 0, None, None
    )
    _cached_burst(table, f"min_interval 300 s: {CONCURRENT} concurrent scrapes", sim, exp)


def _cached_burst(table: Table, check: str, sim: Simulator, exp: ExporterProcess) -> None:
    """Scrape a warm cache concurrently: no calls; the spread shows queueing in the exporter."""
    sim.reset_counts()
    _, failures, times = concurrent_scrapes(exp, CONCURRENT)
    got = sim.request_count(action=ACTION)
    table.add(check, CONCURRENT, 0, got, got == 0 and not failures, *_spread(times))


def _spread(times: list[float]) -> tuple[float | None, float | None]:
    """Return the median and slowest of some scrape durations (None when there are none)."""
    if not times:
        return None, None
    return median(times), max(times)


def concurrent_scrapes(
    exp: ExporterProcess, count: int
) -> tuple[list[bytes], list[BaseException], list[float]]:
    """Scrape ``count`` times at once; return bodies, failures and durations."""
    bodies: list[bytes] = []
    failures: list[BaseException] = []
    times: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def scrape() -> None:
        """Wait for the others, then scrape once."""
        start.wait(timeout=30)
        began = time.perf_counter()
        try:
            body = exp.scrape()[1]
        except Exception as exc:  # counted by the caller
            with lock:
                failures.append(exc)
            return
        with lock:
            bodies.append(body)
            times.append(time.perf_counter() - began)

    threads = [threading.Thread(target=scrape) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if len(bodies) + len(failures) != count:
        failures.append(TimeoutError("a scrape did not finish within 120 s"))
    return bodies, failures, times


def _buckets_part(body: bytes) -> bytes:
    """Return the bucket families of an exposition (identical within one collection)."""
    start = body.find(b"# HELP ucloud_image_buckets ")
    end = body.find(b"# HELP ucloud_image_bucket_up ")
    return body[start:end]
