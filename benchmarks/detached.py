"""Case 8: detached listings (issue 14): fleets whose listing outgrows the scrape timeout.

A real exporter process lists R targets of P pages each at the simulator's RTT with a fixed
number of requests in flight, so one collection takes far longer than the scrape timeout.
Scrapes follow each other with Prometheus's timeout header. Each must answer within the
header; the listings go on in the background and, once done, are served: by the 7th scrape
every target must be up with data fresher than two scrape timeouts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from benchmarks.harness import ExporterProcess, config, fleet, target_series
from benchmarks.report import Table
from exporter.simulator import Simulator

GOAL_SCRAPE = 7


@dataclass(frozen=True)
class Plan:
    """The fleet, the RTT, the in-flight bound and the scrape timeout."""

    targets: int
    pages: int  # of 100 buckets per target
    rtt: float
    in_flight: int
    header: float
    scrapes: int


FULL = Plan(targets=50, pages=40, rtt=0.2, in_flight=8, header=10.0, scrapes=8)
QUICK = Plan(targets=8, pages=4, rtt=0.1, in_flight=4, header=1.0, scrapes=7)


def run(plan: Plan) -> Table:
    """Scrape back to back; print each answer's time, targets up and the oldest data."""
    work = plan.targets * plan.pages / plan.in_flight * plan.rtt
    table = Table(
        "detached",
        f"Detached listings: {plan.targets} targets x {plan.pages} pages "
        f"at {plan.rtt * 1000:.0f} ms RTT, {plan.in_flight} in flight (~{work:.0f} s "
        f"of listing) vs a {plan.header:g} s scrape timeout",
        ("scrape", "seconds", "within_timeout", "targets_up", "oldest_data_s", "holds"),
    )
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": str(plan.header)}
    with (
        Simulator(fleet([plan.pages * 100] * plan.targets), latency=plan.rtt) as sim,
        ExporterProcess(config(sim.url, plan.targets, in_flight=plan.in_flight)) as exp,
        httpx.Client(timeout=plan.header * 3) as client,
    ):
        for scrape in range(1, plan.scrapes + 1):
            started = time.monotonic()
            body = client.get(exp.url + "/metrics", headers=headers).content
            seconds = time.monotonic() - started
            ups = target_series(body, "ucloud_image_bucket_up")
            ages = [
                time.time() - t
                for t in target_series(body, "ucloud_image_bucket_last_success_timestamp_seconds")
            ]
            oldest = max(ages) if len(ages) == plan.targets else None
            fresh = (
                sum(ups) == plan.targets and oldest is not None and oldest < work + 2 * plan.header
            )
            table.add(
                scrape,
                seconds,
                seconds < plan.header,
                int(sum(ups)),
                oldest,
                seconds < plan.header and (scrape < GOAL_SCRAPE or fresh),
            )
    table.notes += [
        f"goal: every answer within {plan.header:g} s; from scrape {GOAL_SCRAPE} on, all "
        f"{plan.targets} targets up with data no older than one listing ({work:.0f} s) plus two "
        "scrape timeouts.",
    ]
    return table
