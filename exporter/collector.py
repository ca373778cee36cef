"""Turn one collection of all targets into Prometheus metric families.

Example output (one target, one bucket)::

    # HELP ucloud_image_buckets Number of image buckets by type.
    # TYPE ucloud_image_buckets gauge
    ucloud_image_buckets{account="main",region="cn-bj2",type="private"} 1.0
    ucloud_image_buckets{account="main",region="cn-bj2",type="public"} 0.0
    # HELP ucloud_image_bucket_images Number of images in the bucket (ImageCount).
    # TYPE ucloud_image_bucket_images gauge
    ucloud_image_bucket_images{account="main",bucket="team/api",region="cn-bj2",type="private"} 12.0
    # HELP ucloud_image_bucket_up 1 if the last listing of this account and region succeeded.
    # TYPE ucloud_image_bucket_up gauge
    ucloud_image_bucket_up{account="main",region="cn-bj2"} 1.0
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.engine import Result, Stats
from exporter.ucloud import Bucket

ALWAYS_TYPES = ("private", "public")  # "unknown" appears only while such buckets exist
TARGET = ("account", "region")
BUCKET = ("account", "region", "bucket", "type")


def _images(bucket: Bucket) -> int | None:
    """Return the bucket's image count (None when the API left it out)."""
    return bucket.images


def _created(bucket: Bucket) -> int | None:
    """Return the bucket's creation time (None when the API left it out)."""
    return bucket.created


# The per-bucket gauges: name, HELP text, value. exporter.exposition writes them directly.
# A bucket without a name, or without the value, has no series in that family.
PER_BUCKET_FAMILIES: tuple[tuple[str, str, Callable[[Bucket], int | None]], ...] = (
    ("ucloud_image_bucket_images", "Number of images in the bucket (ImageCount).", _images),
    ("ucloud_image_bucket_created_timestamp_seconds",
     "When the bucket was created (CreateTime), in Unix seconds.", _created),
)


def bucket_counts(results: Sequence[Result]) -> Metric:
    """Return ``ucloud_image_buckets`` for the targets that succeeded."""
    buckets = GaugeMetricFamily("ucloud_image_buckets", "Number of image buckets by type.",
                                labels=("account", "region", "type"))
    for r in results:
        if r.buckets is None:
            continue
        by_type = Counter(dict.fromkeys(ALWAYS_TYPES, 0))
        by_type.update(b.type for b in r.buckets)
        for kind, n in sorted(by_type.items()):
            buckets.add_metric((r.account, r.region, kind), n)
    return buckets


def bucket_families(results: Sequence[Result]) -> Iterator[Metric]:
    """Yield the business metrics of the targets that succeeded, as plain families.

    /metrics and /probe write the per-bucket series with ``exporter.exposition`` instead;
    these families are its reference (the property test) and serve ``name[]`` scrapes.
    """
    listed = [r for r in results if r.buckets is not None]
    yield bucket_counts(listed)
    for name, documentation, value in PER_BUCKET_FAMILIES:
        family = GaugeMetricFamily(name, documentation, labels=BUCKET)
        for r in listed:
            for b in r.buckets or ():
                v = value(b)
                if b.name is not None and v is not None:
                    family.add_metric((r.account, r.region, b.name, b.type), v)
        yield family


def target_families(results: Sequence[Result], stats: Stats) -> Iterator[Metric]:
    """Yield per-target health and the API counters."""
    up = GaugeMetricFamily("ucloud_image_bucket_up",
                           "1 if the last listing of this account and region succeeded, "
                           "else 0.", labels=TARGET)
    duration = GaugeMetricFamily("ucloud_image_bucket_scrape_duration_seconds",
                                 "How long listing this account and region took.",
                                 labels=TARGET)
    error = GaugeMetricFamily("ucloud_image_bucket_error_info",
                              "Present (value 1) while this account and region fails; "
                              "reason says why.", labels=("account", "region", "reason"))
    for r in results:
        up.add_metric((r.account, r.region), 1 if r.ok else 0)
        duration.add_metric((r.account, r.region), r.duration)
        if r.error is not None:
            error.add_metric((r.account, r.region, r.error.reason), 1)
    last = GaugeMetricFamily("ucloud_image_bucket_last_success_timestamp_seconds",
                             "When this account and region was last listed successfully, in "
                             "Unix seconds (older than the scrape when served from the "
                             "min_interval_seconds cache).", labels=TARGET)
    for key, ts in sorted(stats.last_success.items()):
        last.add_metric(key, ts)
    yield from (up, duration, error, last, *counter_families(stats))


def counter_families(stats: Stats) -> Iterator[Metric]:
    """Yield the counters that live across scrapes."""
    for name, documentation, labels, counts in (
        ("ucloud_image_bucket_api_requests", "UCloud API requests sent, retries included.",
         ("account", "region", "action"), stats.requests),
        ("ucloud_image_bucket_api_errors",
         "UCloud API requests that failed, by reason (retcode_<n>, http_<status>, timeout, "
         "transport, decode, deadline).", ("account", "region", "action", "reason"),
         stats.errors),
        ("ucloud_image_bucket_invalid_entries",
         "Bucket entries with a missing or malformed field (BucketName, BucketType, ImageCount, "
         "CreateTime; entry: not an object). The bucket still counts.",
         ("account", "region", "field"), stats.invalid),
        ("ucloud_image_bucket_paging_inconsistencies",
         "Listings where the pages were inconsistent, by kind: total_ahead (fewer buckets than "
         "TotalCount), repeated_page (Offset ignored), oversized_page (more entries than "
         "Limit).", ("account", "region", "kind"), stats.inconsistent),
    ):
        family = CounterMetricFamily(name, documentation, labels=labels)
        for key, n in sorted(counts.items()):
            family.add_metric(key, n)
        yield family


class BuildInfoCollector(Collector):
    """Expose ``ucloud_image_bucket_exporter_build_info``."""

    def collect(self) -> Iterator[Metric]:
        """Yield the constant build info gauge."""
        info = GaugeMetricFamily("ucloud_image_bucket_exporter_build_info",
                                 "Exporter version and Python version; always 1.",
                                 labels=("version", "python_version"))
        info.add_metric((__version__, platform.python_version()), 1)
        yield info
