"""The two runs: many concurrent scrapers (single flight), and a soak with random faults."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from exporter.simulator import Simulator, region_id, synthetic_fleet
from loadtest.scrape import Outcome, scrape
from tests.support.faults import CASES, FaultCase, Target
from tests.support.process import ExporterProcess, ProcStats, proc_stats

PUBLIC_KEY, PRIVATE_KEY = "loadtest-public-key", "loadtest-private-key"
ACTION = "GetImageBucketList"
MAX_SCRAPES_PER_SCRAPER = 100_000  # a bound on every loop, besides its time


def exporter_config(base_url: str, regions: list[str], **ucloud: Any) -> dict[str, Any]:
    """Return a config listing ``regions`` of the synthetic account at ``base_url``."""
    return {
        "ucloud": {"base_url": base_url, **ucloud},
        "accounts": [
            {
                "name": "load",
                "public_key": PUBLIC_KEY,
                "private_key": PRIVATE_KEY,
                "regions": regions,
            }
        ],
    }


@dataclass
class LoadResult:
    """What many concurrent scrapers saw, and what the simulator was asked."""

    scrapers: int
    seconds: float
    latency: float
    outcomes: list[Outcome]
    listings: dict[str, float]  # per region: listings the simulator served
    exit_code: int

    def times(self) -> list[float]:
        """Return the response times of all scrapes."""
        return [o.seconds for o in self.outcomes]

    def problems(self) -> list[str]:
        """Return broken invariants: non-200 or cut answers, listings not single flight."""
        out = [f"scrape failed: {o.problem}" for o in self.outcomes if not o.complete][:5]
        if len(self.outcomes) < self.scrapers:
            out.append(f"{len(self.outcomes)} scrapes from {self.scrapers} scrapers")
        if max(self.listings.values(), default=0) >= len(self.outcomes) / 2:
            out.append(
                f"concurrent scrapes did not share listings: {self.listings} listings "
                f"for {len(self.outcomes)} scrapes"
            )
        # One target's listings run one after another, each at least two round trips long.
        most = self.seconds / (2 * self.latency) + 1
        for region, n in self.listings.items():
            if not 1 <= n <= min(most, len(self.outcomes)) or n != int(n):
                out.append(
                    f"{region}: {n} listings for {len(self.outcomes)} scrapes in "
                    f"{self.seconds:.1f}s (single flight allows at most {most:.0f})"
                )
        if self.exit_code != 0:
            out.append(f"exporter exited {self.exit_code}")
        return out


def load_run(
    workdir: Path,
    *,
    scrapers: int,
    seconds: float,
    latency: float = 0.05,
    regions: int = 4,
    buckets: int = 100,
    page_size: int = 25,
) -> LoadResult:
    """Run ``scrapers`` concurrent scrapers for ``seconds`` against one exporter."""
    names = [region_id(i) for i in range(regions)]
    fleet = synthetic_fleet(
        regions=regions, buckets_per_region=buckets, public_key=PUBLIC_KEY, private_key=PRIVATE_KEY
    )
    with Simulator(fleet, latency=latency) as sim:
        exp = ExporterProcess(workdir, exporter_config(sim.url, names, page_size=page_size))
        try:
            scrape(httpx.Client(), exp.url, targets=regions)  # warm up
            sim.reset_counts()
            outcomes = _hammer(exp.url, scrapers, seconds, regions)
            pages = math.ceil(buckets / page_size)
            listings = {r: sim.request_count(action=ACTION, region=r) / pages for r in names}
        finally:
            code = exp.stop()
    return LoadResult(scrapers, seconds, latency, outcomes, listings, code)


def _hammer(url: str, scrapers: int, seconds: float, targets: int) -> list[Outcome]:
    """Scrape from ``scrapers`` threads until ``seconds`` have passed."""
    outcomes: list[Outcome] = []
    end = time.monotonic() + seconds

    def scraper() -> None:
        with httpx.Client() as client:
            for _ in range(MAX_SCRAPES_PER_SCRAPER):
                if time.monotonic() >= end:
                    return
                outcomes.append(scrape(client, url, targets=targets))

    _run_threads(scraper, scrapers, timeout=seconds + 60)
    return outcomes


def _run_threads(work: Callable[[], None], n: int, *, timeout: float) -> None:
    threads = [threading.Thread(target=work, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


@dataclass
class SoakResult:
    """What the soak saw: outcomes, faults injected, exporter /proc figures per batch."""

    outcomes: list[Outcome] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    stats: list[tuple[int, ProcStats]] = field(default_factory=list)  # (scrapes done, stats)
    exit_code: int = 0
    seconds: float = 0.0
    scrapes: int = 0  # asked for
    batches: int = 0  # asked for (one /proc reading after each)

    def problems(self, *, fd_margin: int = 8, thread_margin: int = 4, kinds: int = 20) -> list[str]:
        """Return broken invariants: failed or missing scrapes, fewer than ``kinds`` fault
        kinds drawn, fds or threads growing after warm-up."""
        out = [f"scrape failed: {o.problem}" for o in self.outcomes if not o.complete][:5]
        if (len(self.outcomes), len(self.stats)) != (self.scrapes, self.batches):
            out.append(
                f"{len(self.outcomes)} scrapes and {len(self.stats)} readings, want "
                f"{self.scrapes} and {self.batches}"
            )
        if len(self.faults) < kinds:
            out.append(f"only {len(self.faults)} fault kinds drawn, want {kinds}")
        if len(self.stats) >= 2:
            (_, first), (_, last) = self.stats[0], self.stats[-1]
            if last.fds > first.fds + fd_margin:
                out.append(f"open fds grew from {first.fds} to {last.fds}")
            if last.threads > first.threads + thread_margin:
                out.append(f"threads grew from {first.threads} to {last.threads}")
        if self.exit_code != 0:
            out.append(f"exporter exited {self.exit_code}")
        return out


def soak_run(
    workdir: Path,
    *,
    scrapes: int,
    batch: int = 100,
    concurrency: int = 4,
    regions: int = 4,
    seed: int = 1,
    cases: Sequence[FaultCase] = CASES,
) -> SoakResult:
    """Scrape ``scrapes`` times, each after injecting one random fault once on a region."""
    names = [region_id(i) for i in range(regions)]
    fleet = synthetic_fleet(
        regions=regions,
        buckets_per_region=50,
        public_key=PUBLIC_KEY,
        private_key=PRIVATE_KEY,
        seed=seed,
    )
    result, rng, started = SoakResult(), random.Random(seed), time.monotonic()
    result.scrapes, result.batches = scrapes, math.ceil(scrapes / batch)
    with Simulator(fleet) as sim:
        config = exporter_config(sim.url, names, page_size=10, timeout_seconds=0.3, retries=1)
        exp = ExporterProcess(workdir, config)
        try:
            for done in range(batch, scrapes + batch, batch):
                count = min(batch, scrapes - (done - batch))
                _soak_batch(
                    sim,
                    exp.url,
                    names,
                    rng,
                    result,
                    count=count,
                    concurrency=concurrency,
                    cases=cases,
                )
                result.stats.append((len(result.outcomes), proc_stats(exp.pid)))
        finally:
            result.exit_code = exp.stop()
    result.seconds = time.monotonic() - started
    return result


def _soak_batch(
    sim: Simulator,
    url: str,
    regions: list[str],
    rng: random.Random,
    result: SoakResult,
    *,
    count: int,
    concurrency: int,
    cases: Sequence[FaultCase],
) -> None:
    """Run ``count`` fault-then-scrape rounds on ``concurrency`` threads."""
    lock = threading.Lock()
    left = [count]

    def worker() -> None:
        with httpx.Client() as client:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                    case, region = rng.choice(cases), rng.choice(regions)
                    result.faults[case.name] += 1
                case.inject(Target(sim, PUBLIC_KEY, region, 0.3), once=True)
                outcome = scrape(client, url, targets=len(regions))
                with lock:
                    result.outcomes.append(outcome)

    _run_threads(worker, concurrency, timeout=count * 20.0)
