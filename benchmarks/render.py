"""Case 2: the cost of serving ``/metrics`` from cached data against the library floor.

The exporter's real path is the ASGI ``App`` behind the gate (registry of the exporter's own
collectors, the exporter building families from the engine's cached results, the page
rendered on a render thread and written in chunks). The floor is ``prometheus_client``
rendering the same, already built families (built once, with plain ``add_metric``) -- what any
Python exporter pays at least. The data
is cached with ``min_interval_seconds``, and the simulator is stopped before measuring, so
no network is measured.
"""

from __future__ import annotations

import cProfile
import gzip
import io
import pstats
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics

from benchmarks.harness import config, fleet
from benchmarks.report import Table, median
from exporter import config as exporter_config
from exporter.budget import family_name, group_of
from exporter.collector import (
    bucket_families,
    docker_families,
    host_families,
    pacing_family,
    target_families,
    uhub_families,
)
from exporter.imagelines import FAMILIES as IMAGE_FAMILIES
from exporter.metrics import SERIES_DROPPED
from exporter.results import Result
from exporter.runtime import Runtime
from exporter.simulator import Simulator
from exporter.web.app import App, self_registry
from tests.support.asgi import call

GOAL = 1.3
REGIONS = 10
OPENMETRICS = "application/openmetrics-text;version=1.0.0"
FORMATS: dict[str, tuple[str, str]] = {  # name -> (Accept, Accept-Encoding)
    "text": ("", ""),
    "openmetrics+gzip": (OPENMETRICS, "gzip"),
}
Renderer = Callable[[CollectorRegistry], bytes]


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of the render case."""

    buckets: tuple[int, ...]
    runs: int
    profile: bool


FULL = Plan(buckets=(10_000, 100_000), runs=5, profile=True)
QUICK = Plan(buckets=(1_000, 5_000), runs=3, profile=False)


def run(plan: Plan) -> list[Table]:
    """Measure every size and format; return the results table and, if asked, a profile."""
    table = Table(
        "render",
        f"Render cost of GET /metrics from cached data vs prometheus_client "
        f"floor ({REGIONS} targets)",
        (
            "format",
            "buckets",
            "series",
            "runs",
            "exporter_ms",
            "exporter_cpu_ms",
            "floor_ms",
            "floor_cpu_ms",
            "cpu_ratio",
            "wall_ratio",
            "identical",
            f"goal<={GOAL}",
        ),
    )
    tables = [table]
    for buckets in plan.buckets:
        with Served(buckets) as served:
            for name in FORMATS:
                _row(table, served, name, plan.runs)
            if plan.profile and buckets == max(plan.buckets):
                tables.append(served.profile())
    table.notes += [
        "exporter = the ASGI App serving the telemetry path (real path minus the socket); "
        "floor = prometheus_client's generate_latest (openmetrics: its OpenMetrics encoder, "
        "then gzip.compress as the library's own app does) over the same families built "
        "beforehand. "
        "The exporter writes the per-bucket series itself (exporter/exposition.py), hence "
        "ratios below 1.",
        "series = all sample lines of the exposition (2 per bucket plus per-target series).",
        "identical: the exporter's bytes from the first ucloud_ family to the end equal the "
        "floor's; the goal is judged on cpu_ratio (medians; process CPU of this process).",
    ]
    return tables


class Served:
    """An in-process App over an engine whose results are cached; the floor beside it."""

    def __init__(self, buckets: int) -> None:
        per_region = buckets // REGIONS
        self.buckets = per_region * REGIONS
        gateway = Simulator(fleet([per_region] * REGIONS)).start()
        cfg = exporter_config.parse(
            config(gateway.url, REGIONS, page_size=1000, min_interval=86_400)
        )
        self.runtime = Runtime(lambda: cfg, initial=cfg)
        self.app = App(self.runtime)
        try:
            self.serve("")  # list everything once; later scrapes hit the cache
        finally:
            gateway.stop()  # nothing below may reach the network
        self.results = results = self.runtime.engine.collect(timeout=60)
        if not all(r.ok for r in results):
            raise RuntimeError(f"listing failed: {[r.error for r in results if r.error]}")
        self.prebuilt = CollectorRegistry(auto_describe=False)
        self.prebuilt.register(_Prebuilt(_floor_families(results, self.runtime)))

    def serve(self, accept: str, encoding: str = "") -> bytes:
        """GET the telemetry path through the App; return the body."""
        answer = call(
            self.app,
            headers={
                "Accept": accept,
                "Accept-Encoding": encoding,
                "X-Prometheus-Scrape-Timeout-Seconds": "120",
            },
        )
        if answer.status != 200:
            raise RuntimeError(f"GET /metrics: {answer.status}")
        return answer.body

    def floor(self, name: str) -> bytes:
        """Render the pre-built families the way prometheus_client's own app would for format
        ``name``."""
        if name == "text":
            return generate_latest(self.prebuilt)
        render: Renderer = partial(openmetrics.generate_latest, version="1.0.0")
        return gzip.compress(render(self.prebuilt))

    def profile(self, top: int = 12) -> Table:
        """Profile one text scrape through the App; return the top functions by own time."""
        profiler = cProfile.Profile()
        profiler.runcall(self.serve, "")
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        table = Table(
            "profile",
            f"Where a text scrape of {self.buckets} buckets spends its time (cProfile, own time)",
            ("function", "calls", "own_s", "share"),
        )
        entries: Any = stats.stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in entries.values())
        ranked = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
        for (path, line, func), (_, calls, own, _cum, _callers) in ranked:
            where = (
                f"{path.rsplit('/', 2)[-2]}/{path.rsplit('/', 1)[-1]}:{line}"
                if "/" in path
                else path
            )
            table.add(f"{func} ({where})", calls, own, f"{own / total:.0%}")
        table.notes.append(f"total profiled own time {total:.2f} s (cProfile inflates it).")
        return table

    def close(self) -> None:
        """Stop the engine."""
        self.runtime.close()

    def __enter__(self) -> Served:
        """Return self."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the engine."""
        self.close()


def _row(table: Table, served: Served, name: str, runs: int) -> None:
    """Time the exporter and the floor for one format, interleaved; add the row."""
    accept, encoding = FORMATS[name]
    mine, theirs = served.serve(accept, encoding), served.floor(name)  # also warm-up
    if encoding:
        mine, theirs = gzip.decompress(mine), gzip.decompress(theirs)
    identical = _ucloud_part(mine) == _ucloud_part(theirs)
    series = sum(1 for line in theirs.split(b"\n") if line and not line.startswith(b"#"))
    timings: dict[str, tuple[list[float], list[float]]] = {"exporter": ([], []), "floor": ([], [])}
    for _ in range(runs):  # interleaved, so load from elsewhere hits both alike
        _timed(lambda: served.serve(accept, encoding), *timings["exporter"])
        _timed(lambda: served.floor(name), *timings["floor"])
    (e_wall, e_cpu), (f_wall, f_cpu) = ((median(w), median(c)) for w, c in timings.values())
    table.add(
        name,
        served.buckets,
        series,
        runs,
        e_wall * 1000,
        e_cpu * 1000,
        f_wall * 1000,
        f_cpu * 1000,
        e_cpu / f_cpu,
        e_wall / f_wall,
        identical,
        e_cpu / f_cpu <= GOAL,
    )


def _timed(work: Callable[[], bytes], walls: list[float], cpus: list[float]) -> None:
    """Run ``work`` once, appending its wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    cpus.append(time.process_time() - cpu)
    walls.append(time.perf_counter() - wall)


def _ucloud_part(body: bytes) -> bytes:
    """Return the exposition from the first ucloud_image_buckets family on."""
    start = body.find(b"# HELP ucloud_image_buckets ")
    if start < 0:
        raise RuntimeError("no ucloud_image_buckets family in the exposition")
    return body[start:]


class _Prebuilt:
    """A collector yielding families built once."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        """Yield the pre-built families."""
        return iter(self._families)


def _floor_families(results: Sequence[Result], runtime: Runtime) -> list[Metric]:
    """Build, the plain documented way, every family the App serves, in the same order."""
    counts, images, created = bucket_families(results)
    stats = runtime.stats.snapshot()
    families = [
        *self_registry().collect(),
        *runtime.families(),
        counts,
        *target_families(results, stats),
        *runtime.engine.regions.families(),
        *runtime.engine.projects.families(),
        *uhub_families(runtime.engine.uhub.states()),
        *docker_families(runtime.engine.docker_images.states(), stats, per_image=False),
        *host_families(runtime.engine.host_images.states(), runtime.engine.config, stats),
        pacing_family(runtime.engine.concurrency_limits()),
    ]
    per_image = [
        f
        for f in docker_families(runtime.engine.docker_images.states(), stats)
        if f.name in {family.name for family in IMAGE_FAMILIES}
    ]
    # The series budget's gauge: nothing left out, a 0 for each droppable family.
    dropped = SERIES_DROPPED.new()
    for name in sorted(family_name(f.name) for f in [*families, images, created, *per_image]):
        if group_of(name):
            dropped.add_metric((name,), 0)
    # per-bucket series, then the images inside buckets, last
    return [*families, dropped, images, created, *per_image]
