"""Case ``budget``: what ``/metrics`` costs with the series budget (issue 22) and without.

The same cached fleet is served by the ASGI ``App`` (the real path minus the socket) under
four configurations: no budget in reach (``collect.max_series`` far above the page), a
``max_series`` of 1,000 (the per-bucket families left out whole), ``per_bucket_series: false``
and an account ``buckets`` filter keeping 99 buckets of each region. The per-bucket series left
out are counted from the listing's columns, never written, so a budgeted scrape costs about
what the counts and health cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import config, fleet
from benchmarks.report import Table, median
from exporter import config as exporter_config
from exporter.metrics import SERIES_DROPPED
from exporter.runtime import Runtime
from exporter.simulator import Simulator
from exporter.web.app import App
from tests.support.asgi import call

REGIONS = 10
VARIANTS: dict[str, dict[str, Any]] = {  # name -> collect settings, account settings
    "no budget in reach": {"collect": {"max_series": 100_000_000}},
    "max_series 1000": {"collect": {"max_series": 1000}},
    "per_bucket_series false": {"collect": {"per_bucket_series": False}},
    "buckets filter (99 a region)": {"account": {"buckets": {"include": "bucket-000[0-9][0-9]"}}},
}


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of the budget case."""

    buckets: tuple[int, ...]
    runs: int


FULL = Plan(buckets=(100_000,), runs=5)
QUICK = Plan(buckets=(2_000,), runs=3)


def run(plan: Plan) -> Table:
    """Serve each size under each variant; return one row per (size, variant)."""
    table = Table(
        "budget",
        f"GET /metrics with and without the series budget ({REGIONS} targets, cached data)",
        ("variant", "buckets", "series", "dropped", "bytes", "runs", "wall_ms", "cpu_ms"),
    )
    for buckets in plan.buckets:
        for name, settings in VARIANTS.items():
            table.add(name, *_measure(buckets, settings, plan.runs))
    table.notes += [
        "series = sample lines of the page; dropped = the sum of "
        "ucloud_image_bucket_exporter_series_dropped (series left out by the budget, not by a "
        "filter); medians of wall and process CPU per scrape, after one warm-up scrape.",
        "The per-bucket series left out are counted from the listing's columns (C-level "
        "counts), never written: a budgeted page costs about its counts and health.",
    ]
    return table


def _measure(buckets: int, settings: dict[str, Any], runs: int) -> tuple[Any, ...]:
    per_region = buckets // REGIONS
    gateway = Simulator(fleet([per_region] * REGIONS)).start()
    raw = config(gateway.url, REGIONS, page_size=1000, min_interval=86_400)
    raw["collect"].update(settings.get("collect", {}))
    raw["accounts"][0].update(settings.get("account", {}))
    cfg = exporter_config.parse(raw)
    runtime = Runtime(lambda: cfg, initial=cfg)
    try:
        app = App(runtime)
        try:
            body = _serve(app)  # lists everything once; later scrapes hit the cache
        finally:
            gateway.stop()  # nothing below may reach the network
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            body = _serve(app)
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - wall)
        lines = [line for line in body.split(b"\n") if line and not line.startswith(b"#")]
        prefix = SERIES_DROPPED.name.encode() + b"{"
        dropped = sum(float(line.rsplit(b" ", 1)[1]) for line in lines if line.startswith(prefix))
        wall_ms, cpu_ms = median(walls) * 1000, median(cpus) * 1000
        return per_region * REGIONS, len(lines), int(dropped), len(body), runs, wall_ms, cpu_ms
    finally:
        runtime.close()


def _serve(app: App) -> bytes:
    answer = call(app, headers={"X-Prometheus-Scrape-Timeout-Seconds": "120"})
    if answer.status != 200:
        raise RuntimeError(f"GET /metrics: {answer.status}")
    return answer.body
