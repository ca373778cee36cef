"""Case 9: compact memory (issue 14) -- steady and peak RSS of ``python -m exporter`` at 1M buckets.

RSS comes from ``/proc/<pid>/status`` (``VmRSS`` now, ``VmHWM`` peak). Before each overlapping
pair the peak is reset (``echo 5 > /proc/<pid>/clear_refs``), so each peak row is that pair's
own. Every scrape asks for gzip, as Prometheus does; the bench client decompresses it to check
that every bucket is there (its own work, not the exporter's).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from benchmarks.harness import SCRAPE_HEADERS, ExporterProcess, config, count_series, fleet
from benchmarks.report import Table
from exporter.simulator import Simulator

MIB = 1024 * 1024
STEADY_GOAL_MIB = 600  # at 1,000,000 buckets across 100 targets
PEAK_GOAL_MIB = 900  # during two overlapping scrapes, same size
SETTLE_SECONDS = 1.0
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


@dataclass(frozen=True)
class Plan:
    """The fleet of the compact case."""

    targets: int
    buckets: int  # per target
    page_size: int


FULL = Plan(targets=100, buckets=10_000, page_size=1000)
QUICK = Plan(targets=4, buckets=500, page_size=100)


def run(plan: Plan) -> Table:
    """Measure idle, steady and overlapping-scrape peak RSS; return the table."""
    total = plan.targets * plan.buckets
    table = Table(
        "compact",
        f"Compact memory: {plan.targets} targets x {plan.buckets:,} buckets = {total:,}, "
        f"page_size {plan.page_size} (fewer pages, same buckets), gzip scrapes, "
        "min_interval 0 (every scrape lists afresh)",
        ("measure", "buckets", "value", "unit", "goal", "holds"),
    )
    with Simulator(fleet([plan.buckets] * plan.targets)) as sim:
        cfg = config(sim.url, plan.targets, page_size=plan.page_size, timeout=120)
        with ExporterProcess(cfg) as exp:
            time.sleep(SETTLE_SECONDS)
            idle = _rss(exp)
            cpu = exp.cpu_seconds()
            first = _scrape(exp, plan, GZIP)
            cpu = exp.cpu_seconds() - cpu
            _scrape(exp, plan, GZIP)
            time.sleep(SETTLE_SECONDS)
            steady = _rss(exp)
            lone_peak = exp.memory()["VmHWM"] / 1024
            pair, pair_peak = _overlapping(exp, plan, GZIP, GZIP)
            mixed, mixed_peak = _overlapping(exp, plan, GZIP, PLAIN)
            time.sleep(SETTLE_SECONDS)
            after = _rss(exp)
    per_bucket = (steady - idle) * MIB / total
    rows: list[tuple[str, float, str, int | None]] = [
        ("idle RSS (listening, before any scrape)", idle, "MiB", None),
        ("first scrape (listing + render, gzip)", first, "s", None),
        ("exporter CPU of the first scrape", cpu, "s", None),
        ("steady RSS after two scrapes (VmRSS)", steady, "MiB", STEADY_GOAL_MIB),
        ("bytes per bucket, (steady - idle) / buckets", per_bucket, "B", None),
        ("peak RSS (VmHWM) of the first two scrapes", lone_peak, "MiB", None),
        ("two overlapping gzip scrapes: slowest", pair, "s", None),
        ("two overlapping gzip scrapes: peak RSS", pair_peak, "MiB", PEAK_GOAL_MIB),
        ("gzip + plain overlapping: slowest", mixed, "s", None),
        ("gzip + plain overlapping: peak RSS", mixed_peak, "MiB", None),
        ("RSS after all scrapes (VmRSS)", after, "MiB", None),
    ]
    for measure, value, unit, goal in rows:
        table.add(measure, total, value, unit, goal, None if goal is None else value <= goal)
    table.notes += [
        f"goals at 1,000,000 buckets across 100 targets: steady <= {STEADY_GOAL_MIB} MiB, "
        f"peak <= {PEAK_GOAL_MIB} MiB during two overlapping scrapes. Steady RSS includes the "
        "render cache: each target's lines kept as deflate blocks (exporter/exposition.py, "
        "LineCache), about a tenth of the page.",
        "two identical gzip scrapes share one page (exporter/web/share.py); a gzip and a plain "
        "scrape share the listing and the cached blocks, and the plain page is inflated a chunk "
        "at a time as it is sent.",
    ]
    return table


def _rss(exp: ExporterProcess) -> float:
    return exp.memory()["VmRSS"] / 1024


def _scrape(exp: ExporterProcess, plan: Plan, encoding: dict[str, str]) -> float:
    """GET /metrics; insist every bucket is there; return the seconds."""
    started = time.monotonic()
    with httpx.Client(timeout=900) as client:
        answer = client.get(exp.url + "/metrics", headers={**SCRAPE_HEADERS, **encoding})
    took = time.monotonic() - started
    body = answer.content  # httpx undoes the gzip
    if answer.status_code != 200:
        raise RuntimeError(f"GET /metrics: HTTP {answer.status_code}")
    if encoding is GZIP and answer.headers.get("content-encoding") != "gzip":
        raise RuntimeError("asked for gzip, got a plain answer")
    if count_series(body, "ucloud_image_bucket_images") != plan.targets * plan.buckets:
        raise RuntimeError(f"incomplete scrape:\n{exp.logs()[-2000:]}")
    return took


def _overlapping(
    exp: ExporterProcess, plan: Plan, one: dict[str, str], two: dict[str, str]
) -> tuple[float, float]:
    """Reset the peak, send two scrapes together; return (slowest seconds, peak RSS MiB)."""
    with open(f"/proc/{exp.proc.pid}/clear_refs", "w", encoding="ascii") as f:
        f.write("5")  # VmHWM := VmRSS
    with ThreadPoolExecutor(2) as pool:
        times = list(pool.map(lambda enc: _scrape(exp, plan, enc), (one, two)))
    return max(times), exp.memory()["VmHWM"] / 1024
