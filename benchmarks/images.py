"""Case 12: images inside buckets at scale (issue 22): series, RSS and CPU per scrape.

The real exporter process (``python -m exporter``) against the simulator's
``docker_image_fleet``: 1,000 buckets of 50 images (3 tags each) in one region, once with
``docker_images`` off and once on (every bucket listed in one refresh:
``max_buckets_per_refresh`` 1,000). With it on, the scrapes start once the first refresh has
listed every bucket. Each scrape lists the buckets again (``min_interval_seconds`` 0), as in
the other cases; the images come from memory (the refresh runs every 600 s, in the
background). A last row runs ``docker_images`` on with ``collect.max_series`` below the page's
series: the images inside buckets are left out (whole families), and the page is as cheap as
with them off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import ExporterProcess, config
from benchmarks.report import Table, median
from exporter import metrics
from exporter.simulator import Simulator, docker_image_fleet

LISTED = metrics.DOCKER_LISTED_BUCKETS.name


@dataclass(frozen=True)
class Plan:
    """Fleet size and repetitions."""

    buckets: int
    images: int  # per bucket
    tags: int  # per image
    scrapes: int


FULL = Plan(buckets=1_000, images=50, tags=3, scrapes=10)
QUICK = Plan(buckets=40, images=5, tags=2, scrapes=2)
WAIT_SECONDS = 300.0  # for the first refresh of every bucket


def run(plan: Plan) -> Table:
    """Scrape the exporter with docker_images off, on, and on past the series budget."""
    table = Table(
        "images",
        f"Images inside buckets: {plan.buckets} buckets x {plan.images} images "
        f"({plan.tags} tags each), one region",
        ("docker_images", "series", "bytes", "scrape_s", "cpu_ms_per_scrape", "rss_mib",
         "peak_rss_mib", "refresh_s"),
    )  # fmt: skip
    fleet = docker_image_fleet(buckets=plan.buckets, images=plan.images, tags=plan.tags)
    with Simulator(fleet) as sim:
        for label, on, budget in (
            ("off", False, None),
            ("on", True, None),
            ("on, max_series below", True, plan.buckets * 3),
        ):
            table.add(label, *_measure(sim.url, plan, on=on, budget=budget))
    table.notes += [
        "series: sample lines of the page; cpu_ms_per_scrape: the exporter process's CPU "
        "over the scrapes (listing the buckets included) divided by their number.",
        "refresh_s: ucloud_image_bucket_docker_images_refresh_duration_seconds of the first "
        "refresh (one GetDockerImageList per bucket, 50 images fit one page).",
        "Never one series per tag: 4 series per image (tags, updated, newest, oldest tag).",
    ]
    return table


def _measure(url: str, plan: Plan, *, on: bool, budget: int | None) -> tuple[Any, ...]:
    cfg = config(url, 1, timeout=60.0)
    cfg["accounts"][0]["docker_images"] = on
    cfg["docker_images"] = {"max_buckets_per_refresh": max(plan.buckets, 1)}
    if budget is not None:
        cfg["collect"]["max_series"] = budget
    exporter = ExporterProcess(cfg)
    try:
        refresh = _first_refresh(exporter, plan) if on else None
        cpu = exporter.cpu_seconds()
        times, body = [], b""
        for _ in range(plan.scrapes):
            seconds, body = exporter.scrape()
            times.append(seconds)
        cpu_ms = 1000 * (exporter.cpu_seconds() - cpu) / plan.scrapes
        series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
        mem = exporter.memory()
        return (
            series,
            len(body),
            median(times),
            cpu_ms,
            mem["VmRSS"] / 1024,
            mem["VmHWM"] / 1024,
            refresh if refresh is not None else "",
        )
    finally:
        exporter.stop()


def _first_refresh(exporter: ExporterProcess, plan: Plan) -> float:
    """Wait until the first refresh listed every bucket; return how long it took."""
    end = time.monotonic() + WAIT_SECONDS
    name = metrics.DOCKER_DURATION.name.encode()
    while time.monotonic() < end:
        _, body = exporter.scrape()
        for line in body.split(b"\n"):
            if line.startswith(LISTED.encode() + b"{") and float(line.rsplit(b" ", 1)[1]) >= (
                plan.buckets
            ):
                duration = next(
                    (
                        float(x.rsplit(b" ", 1)[1])
                        for x in body.split(b"\n")
                        if x.startswith(name + b"{")
                    ),
                    0.0,
                )
                return duration
        time.sleep(0.5)
    raise RuntimeError(f"the first refresh did not list {plan.buckets} buckets in time")
