"""A prototype of a specialised text writer for the bucket series, to size a proposed change.

Not used by the exporter. ``prometheus_client`` renders each sample generically (sorts and
validates every label name, escapes every value); the bucket series all share one label set,
so their lines can be written from a per-target prefix. The table compares both on the same
two bucket families and checks the bytes are identical.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from benchmarks.report import Table, median
from exporter.collector import bucket_families
from exporter.engine import Result

FAMILIES = (("ucloud_image_bucket_images", "images"),
            ("ucloud_image_bucket_created_timestamp_seconds", "created"))


def escape(value: str) -> str:
    """Escape a label value as the text format wants."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def write_samples(results: Sequence[Result]) -> bytes:
    """Write the sample lines of the two per-bucket families (no HELP/TYPE lines)."""
    out: list[str] = []
    go = floatToGoString
    for name, attr in FAMILIES:
        for r in results:
            prefix = f'{name}{{account="{escape(r.account)}",bucket="'
            middle = f'",region="{escape(r.region)}",type="'
            out.extend([f'{prefix}{escape(b.name)}{middle}{escape(b.type)}"}} '
                        f'{go(getattr(b, attr))}\n' for b in r.buckets or ()])
    return "".join(out).encode()


class _Two:
    """A collector yielding the two per-bucket families."""

    def __init__(self, results: Sequence[Result]) -> None:
        self._results = results

    def collect(self) -> Iterator[Metric]:
        """Build and yield the images and created families."""
        return iter(list(bucket_families(self._results))[1:])


def compare(results: Sequence[Result], runs: int) -> tuple[float, float, bool]:
    """Return median CPU seconds of (generate_latest + build, writer) and byte identity."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Two(results))
    library: list[float] = []
    direct: list[float] = []
    for _ in range(runs):
        started = time.process_time()
        generic = generate_latest(registry)
        library.append(time.process_time() - started)
        started = time.process_time()
        written = write_samples(results)
        direct.append(time.process_time() - started)
    samples = b"".join(line + b"\n" for line in generic.split(b"\n")
                       if line and not line.startswith(b"#"))
    return median(library), median(direct), samples == written


def table() -> Table:
    """Return the empty prototype table."""
    return Table("writer", "Prototype: a specialised writer for the bucket series (not used "
                 "by the exporter)", ("buckets", "series", "runs", "build+generate_latest_cpu_ms",
                                      "writer_cpu_ms", "speed-up", "identical"))
