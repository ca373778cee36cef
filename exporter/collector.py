"""Turn one collection of all targets into Prometheus metric families.

Example output (one target, one bucket)::

    # HELP ucloud_image_buckets Number of image buckets by type: ...
    # TYPE ucloud_image_buckets gauge
    ucloud_image_buckets{account="main",project="org-1",region="cn-bj2",type="private"} 1.0
    ucloud_image_buckets{account="main",project="org-1",region="cn-bj2",type="public"} 0.0
    # HELP ucloud_image_bucket_images Number of images in the bucket (ImageCount); ...
    # TYPE ucloud_image_bucket_images gauge
    ucloud_image_bucket_images{account="main",bucket="team/api",project="org-1",...} 12.0
    # HELP ucloud_image_bucket_up 1 if the last listing of this target ... succeeded, ...
    # TYPE ucloud_image_bucket_up gauge
    ucloud_image_bucket_up{account="main",project="org-1",region="cn-bj2"} 1.0
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter import __version__, metrics
from exporter.config import Config
from exporter.metrics import Family
from exporter.results import Result
from exporter.sources import DockerImagesState, HostImagesState, SourceState, UHubState
from exporter.stats import Stats
from exporter.ucloud import STATES, UNKNOWN_STATE, as_columns
from exporter.validation import EVERY_NAME, NameFilter

ALWAYS_TYPES = ("private", "public")  # "unknown" appears only while such buckets exist
UNKNOWN = "unknown"  # a label whose value the API left out: a label value is never empty

#: The Bucket field (a column of Buckets) of each per-bucket family (exporter.exposition
#: writes these series itself). A bucket without a name, or without the value, has no series.
PER_BUCKET_VALUES: dict[Family, str] = {
    metrics.IMAGES: "images",
    metrics.CREATED: "created",
}


def bucket_counts(results: Sequence[Result]) -> Metric:
    """Return ``ucloud_image_buckets`` for the targets that succeeded."""
    buckets = metrics.BUCKETS.new()
    for r in results:
        if r.buckets is None:
            continue
        by_type = Counter(dict.fromkeys(ALWAYS_TYPES, 0))
        by_type.update(as_columns(r.buckets).type_counts())
        for kind, n in sorted(by_type.items()):
            buckets.add_metric((*r.key, kind), n)
    return buckets


def bucket_families(
    results: Sequence[Result], filters: Mapping[str, NameFilter] | None = None
) -> Iterator[Metric]:
    """Yield the business metrics of the targets that succeeded, as plain families.

    /metrics and /probe write the per-bucket series with ``exporter.exposition`` instead;
    these families are its reference (the property test) and serve ``name[]`` scrapes.
    ``filters`` (each account's ``buckets`` filter, by account name) keeps the buckets an
    account does not want out of the per-bucket families; they still count.
    """
    listed = [r for r in results if r.buckets is not None]
    yield bucket_counts(listed)
    for entry, field in PER_BUCKET_VALUES.items():
        family = entry.new()
        for r in listed:
            wanted = EVERY_NAME if filters is None else filters.get(r.account, EVERY_NAME)
            for b in r.buckets or ():
                v = getattr(b, field)
                if b.name is not None and v is not None and wanted.wants(b.name):
                    family.add_metric((*r.key, b.name, b.type), v)
        yield family


def target_families(results: Sequence[Result], stats: Stats) -> Iterator[Metric]:
    """Yield per-target health and the API counters."""
    up, duration, error = metrics.UP.new(), metrics.DURATION.new(), metrics.ERROR_INFO.new()
    for r in results:
        up.add_metric(r.key, 1 if r.ok else 0)
        duration.add_metric(r.key, r.duration)
        if r.error is not None:
            error.add_metric((*r.key, r.error.reason), 1)
    last = metrics.LAST_SUCCESS.new()
    for key, ts in sorted(stats.last_success.items()):
        last.add_metric(key, ts)
    yield from (up, duration, error, last, *counter_families(stats))


def counter_families(stats: Stats) -> Iterator[Metric]:
    """Yield the counters that live across scrapes."""
    for entry, counts in (
        (metrics.API_REQUESTS, stats.requests),
        (metrics.API_ERRORS, stats.errors),
        (metrics.INVALID_ENTRIES, stats.invalid),
        (metrics.PAGING_INCONSISTENCIES, stats.inconsistent),
        (metrics.ACCOUNT_API_REQUESTS, stats.account_requests),
        (metrics.ACCOUNT_API_ERRORS, stats.account_errors),
        (metrics.UHUB_TRUNCATED, stats.uhub_truncated),
        (metrics.UHUB_INVALID_ENTRIES, stats.uhub_invalid),
        (metrics.UHUB_PAGING_INCONSISTENCIES, stats.uhub_inconsistent),
    ):
        family = entry.new()
        for key, n in sorted(counts.items()):
            family.add_metric(key, n)
        yield family


def pacing_family(limits: Mapping[str, int]) -> Metric:
    """Return each account's current in-flight limit (adaptive concurrency)."""
    family = metrics.CONCURRENCY_LIMIT.new()
    for account, limit in sorted(limits.items()):
        family.add_metric((account,), limit)
    return family


def _flag(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


def uhub_families(states: Sequence[UHubState]) -> Iterator[Metric]:
    """Yield the UHub families of ``states`` (a project appears once its first refresh ends)."""
    f = {family: family.new() for family in metrics.UHUB_FAMILIES}
    for s in (s for s in states if s.up is not None):
        own = (s.account, s.project)
        f[metrics.UHUB_UP].add_metric(own, 1 if s.up else 0)
        f[metrics.UHUB_DURATION].add_metric(own, s.duration or 0.0)
        if s.reason is not None:
            f[metrics.UHUB_ERROR_INFO].add_metric((*own, s.reason), 1)
        if s.last_success is not None:
            f[metrics.UHUB_LAST_SUCCESS].add_metric(own, s.last_success)
        if s.data is None:
            continue
        f[metrics.UHUB_REPOS].add_metric(own, len(s.data.repos))
        for repo in s.data.repos:
            labels = (*own, repo.name, _flag(repo.shared), _flag(repo.internet_access))
            f[metrics.UHUB_REPO_INFO].add_metric(labels, 1)
            if repo.images is not None:
                f[metrics.UHUB_REPO_IMAGES].add_metric((*own, repo.name), repo.images)
        for image in s.data.images:
            key = (*own, image.repo, image.name)
            for family, value in (
                (metrics.UHUB_IMAGE_PULLS, image.pulls),
                (metrics.UHUB_IMAGE_UPDATED, image.updated),
                (metrics.UHUB_IMAGE_TAGS, image.tags),
            ):
                if value is not None:
                    f[family].add_metric(key, value)
    yield from f.values()


def uhub_series(states: Iterable[UHubState]) -> int:
    """Return how many samples ``uhub_families(states)`` yields, without building them.

    For whoever budgets the time to write a page: a few attribute reads per image (about 1 ms
    per 10,000 images), and at most ``uhub.max_images`` images per account.
    """
    n = 0
    for s in (s for s in states if s.up is not None):
        n += 2 + (s.reason is not None) + (s.last_success is not None)
        if s.data is None:
            continue
        n += 1 + sum(1 + (r.images is not None) for r in s.data.repos)
        n += sum(
            (i.pulls is not None) + (i.updated is not None) + (i.tags is not None)
            for i in s.data.images
        )
    return n


def _health(
    states: Sequence[SourceState[Any]], up: Family, duration: Family, error: Family, last: Family
) -> tuple[list[SourceState[Any]], list[Metric]]:
    """Return the states whose first refresh ended and their four health families (labels:
    the state's account, project and, for a per-region source, region)."""
    done = [s for s in states if s.up is not None]
    f = [up.new(), duration.new(), error.new(), last.new()]
    for s in done:
        own = _own(s)
        f[0].add_metric(own, 1 if s.up else 0)
        f[1].add_metric(own, s.duration or 0.0)
        if s.reason is not None:
            f[2].add_metric((*own, s.reason), 1)
        if s.last_success is not None:
            f[3].add_metric(own, s.last_success)
    return done, list[Metric](f)


def _own(state: SourceState[Any]) -> tuple[str, ...]:
    return (
        (state.account, state.project, state.region)
        if state.region
        else (state.account, state.project)
    )


def _counters(stats: Stats, *families: Family) -> Iterator[Metric]:
    """Yield the background sources' counters ``families`` (exporter.stats ``counts``)."""
    for entry in families:
        family = entry.new()
        for key, n in sorted(stats.counts(entry.name).items()):
            family.add_metric(key, n)
        yield family


def docker_families(
    states: Sequence[DockerImagesState], stats: Stats, *, per_image: bool = True
) -> Iterator[Metric]:
    """Yield the images-inside-buckets families of ``states`` (a project appears once its first
    refresh ends) and their counters. Never one series per tag. ``per_image`` false leaves out
    the four per-image families (``exporter.imagelines`` writes those of a full page)."""
    m = metrics
    done, health = _health(
        states, m.DOCKER_UP, m.DOCKER_DURATION, m.DOCKER_ERROR_INFO, m.DOCKER_LAST_SUCCESS
    )
    yield from health
    listed = m.DOCKER_LISTED_BUCKETS.new()
    per_image_families = (
        m.DOCKER_IMAGE_TAGS,
        m.DOCKER_IMAGE_UPDATED,
        m.DOCKER_IMAGE_NEWEST_TAG,
        m.DOCKER_IMAGE_OLDEST_TAG,
    )
    values = {f: f.new() for f in per_image_families}
    for s in done:
        if s.data is None:
            continue
        listed.add_metric(_own(s), len(s.data.buckets))
        if not per_image:
            continue
        for (region, bucket), images in sorted(s.data.buckets.items()):
            for i in images:
                key = (s.account, s.project, region, bucket, i.name)
                for family, value in (
                    (m.DOCKER_IMAGE_TAGS, i.tags),
                    (m.DOCKER_IMAGE_UPDATED, i.updated),
                    (m.DOCKER_IMAGE_NEWEST_TAG, i.newest_tag),
                    (m.DOCKER_IMAGE_OLDEST_TAG, i.oldest_tag),
                ):
                    if value is not None:
                        values[family].add_metric(key, value)
    yield listed
    if per_image:
        yield from values.values()
    yield from _counters(
        stats, m.DOCKER_VANISHED, m.DOCKER_TRUNCATED, m.DOCKER_INVALID_ENTRIES,
        m.DOCKER_PAGING_INCONSISTENCIES,
    )  # fmt: skip


def host_families(
    states: Sequence[HostImagesState], config: Config, stats: Stats
) -> Iterator[Metric]:
    """Yield the custom host image families of ``states`` (a region appears once its first
    refresh ends), each region's quota as configured, and their counters."""
    m = metrics
    done, health = _health(
        states, m.HOST_UP, m.HOST_DURATION, m.HOST_ERROR_INFO, m.HOST_LAST_SUCCESS
    )
    yield from health
    accounts = {a.name: a for a in config.accounts}
    counts, quota = m.HOST_IMAGES.new(), m.HOST_QUOTA.new()
    f = {e: e.new() for e in (m.HOST_IMAGE_SIZE, m.HOST_IMAGE_CREATED, m.HOST_IMAGE_EOL)}
    info = m.HOST_IMAGE_INFO.new()
    for s in done:
        own = _own(s)
        account = accounts.get(s.account)
        limit = config.host_images.quota(account, s.region) if account is not None else None
        if limit is not None:
            quota.add_metric(own, limit)
        if s.data is None:
            continue
        by_state = Counter(dict.fromkeys(sorted(STATES), 0))
        by_state.update(i.state for i in s.data.images)
        for state, n in sorted(by_state.items()):
            if n or state != UNKNOWN_STATE:
                counts.add_metric((*own, state), n)
        for i in s.data.images:
            key = (*own, i.id)
            for family, value in (
                (m.HOST_IMAGE_SIZE, i.size_bytes),
                (m.HOST_IMAGE_CREATED, i.created),
                (m.HOST_IMAGE_EOL, i.eol),
            ):
                if value is not None:
                    f[family].add_metric(key, value)
            info.add_metric((*key, i.name or UNKNOWN, i.os_name or UNKNOWN), 1)
    yield from (counts, quota, *f.values(), info)
    yield from _counters(
        stats, m.HOST_TRUNCATED, m.HOST_INVALID_ENTRIES, m.HOST_PAGING_INCONSISTENCIES
    )


class BuildInfoCollector(Collector):
    """Expose ``ucloud_image_bucket_exporter_build_info``."""

    def collect(self) -> Iterator[Metric]:
        """Yield the constant build info gauge."""
        info = metrics.BUILD_INFO.new()
        info.add_metric((__version__, platform.python_version()), 1)
        yield info
